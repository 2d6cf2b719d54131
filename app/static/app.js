/* Sohbet: the little JavaScript htmx does not do for us. CSP-clean: no eval, no inline handlers. */
(function () {
  "use strict";

  function streamElement(node) {
    return node && node.closest ? node.closest("[sse-connect]") : null;
  }

  // Keep the stream's cursor in its URL. htmx-ext-sse opens a *new* EventSource after an error, without
  // Last-Event-ID; with `after=` current, that new stream resumes exactly where this page is.
  // A message this page already shows (same data-seq) is never swapped in twice.
  document.addEventListener("htmx:sseBeforeMessage", function (evt) {
    var message = evt.detail;
    var id = message && message.lastEventId;
    var holder = streamElement(evt.target);
    if (id && /^\d+$/.test(id) && holder) {
      var url = new URL(holder.getAttribute("sse-connect"), window.location.href);
      if (Number(id) > Number(url.searchParams.get("after") || 0)) {
        url.searchParams.set("after", id);
        holder.setAttribute("sse-connect", url.pathname + url.search);
      }
    }
    if (message && message.type === "message" && id && document.querySelector('#messages [data-seq="' + id + '"]')) {
      evt.preventDefault();
    }
  });

  function nearBottom(list) {
    return list.scrollHeight - list.scrollTop - list.clientHeight < 120;
  }

  document.addEventListener("htmx:sseMessage", function (evt) {
    var list = document.getElementById("messages");
    if (list && evt.target === list) {
      var last = list.lastElementChild;
      if (last && (last.classList.contains("mine") || nearBottom(list))) {
        list.scrollTop = list.scrollHeight;
      }
    }
  });

  // Admin: a short sound for new visitor messages (the `notify` SSE event).
  var wired = new WeakSet();
  document.addEventListener("htmx:sseOpen", function (evt) {
    var source = evt.detail && evt.detail.source;
    var holder = streamElement(evt.target);
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

  // Enter sends, Shift+Enter starts a new line.
  document.addEventListener("keydown", function (evt) {
    var field = evt.target;
    if (evt.key !== "Enter" || evt.shiftKey || evt.isComposing) return;
    if (!field.matches || !field.matches("textarea[data-enter-submits]")) return;
    evt.preventDefault();
    if (field.value.trim() && field.form) field.form.requestSubmit();
  });

  document.addEventListener("DOMContentLoaded", function () {
    var list = document.getElementById("messages");
    if (list) list.scrollTop = list.scrollHeight;
  });
})();
