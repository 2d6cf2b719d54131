/* Sohbet widget, inside the iframe of /embed: talks to the launcher (embed.js) on the host page.
   Only counts and events cross, never message text. A message is accepted only from the parent window and from an
   origin allowed to embed the chat (data-embed-origins, rendered by the server: Sohbet itself and EMBED_ORIGINS);
   answers go only to the origin that said hello. Loaded only on the /embed page. */
(function () {
  "use strict";
  var body = document.body;
  if (!body || window.parent === window) return;
  var allowed = (body.getAttribute("data-embed-origins") || "").split(" ").filter(Boolean);
  var host = null; // the launcher's origin, once it said hello
  var open = true; // is the panel showing? (sound only while it is not)
  var sound = null;

  // The /embed response sets `sohbet_probe` with the same attributes as every other cookie here
  // (SameSite=None; Secure; Partitioned). Not there: this browser keeps no cookie in the iframe.
  var cookies = false;
  try {
    cookies = /(^|;\s*)sohbet_probe=1(;|$)/.test(document.cookie);
  } catch (e) {
    cookies = false;
  }
  if (!cookies) {
    body.classList.add("blocked");
    var notice = document.getElementById("embed-blocked");
    if (notice) notice.hidden = false;
  }

  function chatting() {
    return !!document.querySelector("#chat[sse-connect]");
  }

  // Support away (SPEC §9): the status line says so; the launcher shows it on the host page.
  function offline() {
    return !!document.querySelector("#support-status.offline, form[action^='/chat/leave']");
  }

  function tell(message) {
    if (!host) return;
    message.sohbet = 1;
    window.parent.postMessage(message, host);
  }

  function ring() {
    if (!sound) sound = new Audio("/static/notify.wav");
    sound.currentTime = 0;
    var playing = sound.play();
    if (playing && playing.catch) playing.catch(function () {});
  }

  window.addEventListener("message", function (evt) {
    var data = evt.data;
    if (evt.source !== window.parent || allowed.indexOf(evt.origin) < 0 || !data || data.sohbet !== 1) return;
    if (data.t === "hello") {
      host = evt.origin;
      open = !!data.open;
      tell({ t: "ready", cookies: cookies, chat: chatting(), away: offline() });
    } else if (evt.origin !== host) {
      return;
    } else if (data.t === "open") {
      open = !!data.v;
    } else if (data.t === "focus") {
      var field = document.getElementById("composer-text") || document.getElementById("display_name");
      if (field) field.focus();
    }
  });

  // A reply from support arrived live (app.js has already dropped repeats): a count, and a sound if unseen.
  document.addEventListener("htmx:sseMessage", function (evt) {
    var message = evt.detail;
    if (!message || message.type !== "message" || String(message.data).indexOf('data-sender="admin"') < 0) return;
    tell({ t: "msg" });
    if (!open || document.hidden) ring();
  });

  // A conversation started or ended: the launcher keeps it in mind across the host site's pages.
  // Support came or went (the stream swapped the status line): the launcher's away mark follows.
  var was = chatting();
  var gone = offline();
  function changed() {
    if (chatting() !== was) {
      was = !was;
      tell({ t: "chat", on: was });
    }
    if (offline() !== gone) {
      gone = !gone;
      tell({ t: "away", away: gone });
    }
  }
  document.addEventListener("htmx:afterSettle", changed);
  document.addEventListener("htmx:oobAfterSwap", changed);

  // Browsers ignore `autofocus` in a cross-origin frame (the composer comes back after each message without it
  // here): keep the cursor in the composer by hand.
  document.addEventListener("htmx:afterSwap", function (evt) {
    var field = document.getElementById("composer-text");
    if (field && evt.target && evt.target.id === "composer" && document.hasFocus()) field.focus();
  });

  document.addEventListener("keydown", function (evt) {
    if (evt.key === "Escape" && !evt.defaultPrevented) tell({ t: "close" });
  });
})();
