/* Sohbet dashboard, on top of app.js (app/assets.py bundles admin.js only into admin pages). */
(function () {
  "use strict";

  // A short sound for new visitor messages (the `notify` SSE event).
  var wired = new WeakSet();
  document.addEventListener("htmx:sseOpen", function (evt) {
    var source = evt.detail && evt.detail.source;
    var holder = evt.target.closest ? evt.target.closest("[sse-connect]") : null;
    var soundUrl = holder && holder.getAttribute("data-notify-sound");
    if (!source || !soundUrl || wired.has(source)) return;
    wired.add(source);
    var audio = new Audio(soundUrl);
    audio.preload = "none";
    source.addEventListener("notify", function () {
      audio.currentTime = 0;
      var playing = audio.play();
      if (playing && playing.catch) playing.catch(function () {});
    });
  });

  // The thread list refreshes in the background on `threads` hints: an error answer (say, while the server
  // restarts) must not replace the list — the next hint refreshes it.
  document.addEventListener("htmx:beforeSwap", function (evt) {
    var detail = evt.detail;
    var source = detail.requestConfig && detail.requestConfig.elt;
    if (detail.xhr.status >= 400 && source && source.hasAttribute("data-background")) detail.shouldSwap = false;
  });

  // A canned reply picked from the composer's suggestions (typing `/` plus a shortcut): its text replaces the
  // `/shortcut` typed; the server fills in `{name}` on send.
  document.addEventListener("click", function (evt) {
    var choice = evt.target.closest ? evt.target.closest("[data-canned-text]") : null;
    var form = choice && choice.closest("form");
    if (!form || !form.elements.text) return;
    form.elements.text.value = choice.getAttribute("data-canned-text");
    choice.closest("#canned-suggestions").textContent = "";
    form.elements.text.focus();
  });
})();
