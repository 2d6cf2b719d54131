/* The admin's Embed page: a Copy button for the snippet. Without JavaScript the button stays hidden and the
   snippet is plain text to select. */
(function () {
  "use strict";
  function init() {
    var tools = document.querySelector("[data-copy-tools]");
    if (!tools) return;
    var button = tools.querySelector("[data-copy]");
    var status = tools.querySelector("[data-copy-status]");
    var source = document.getElementById(button.getAttribute("data-copy"));
    tools.hidden = false;
    function select() {
      var range = document.createRange();
      range.selectNodeContents(source);
      var selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
    }
    button.addEventListener("click", function () {
      status.textContent = "";
      var done = function () {
        status.textContent = status.getAttribute("data-copied");
      };
      var failed = function () {
        select();
        status.textContent = status.getAttribute("data-failed");
      };
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(source.textContent).then(done, failed);
      } else {
        failed();
      }
    });
  }
  document.readyState === "loading" ? document.addEventListener("DOMContentLoaded", init) : init();
})();
