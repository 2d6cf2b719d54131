/* Sohbet: the little JavaScript htmx does not do for us. CSP-clean: no eval, no inline handlers. */
(function () {
  "use strict";

  // htmx's settings (the first four keep it within the strict CSP), set before htmx starts on DOMContentLoaded —
  // here, in the cached bundle right after htmx, rather than in a <meta name="htmx-config"> on every page.
  Object.assign(htmx.config, {
    includeIndicatorStyles: false,
    allowEval: false,
    allowScriptTags: false,
    historyCacheSize: 0,
    selfRequestsOnly: true,
    responseHandling: [
      { code: "204", swap: false },
      { code: "[2345]..", swap: true, error: false },
    ],
  });

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

  // htmx binds a form it swapped in only when the swap settles (~20 ms later): a submit in between (a quick
  // Enter or click on the fresh composer) would be a full page post. Bind it first; htmx then takes this submit.
  document.addEventListener(
    "submit",
    function (evt) {
      var form = evt.target;
      if (form.hasAttribute && form.hasAttribute("hx-post")) htmx.process(form);
    },
    true
  );

  // A form with data-confirm asks first in a dialog of the page (window.confirm is refused in the widget's
  // sandboxed iframe; the dialog is later.js's); confirmed, it goes (htmx's or a plain post) with confirm=yes.
  // Without JavaScript, or without <dialog>, the server asks with a page instead.
  document.addEventListener(
    "submit",
    function (evt) {
      var form = evt.target;
      var source = document.querySelector("[data-later]");
      if (!form.getAttribute("data-confirm") || form.elements.confirm || !window.HTMLDialogElement || !source) return;
      evt.preventDefault();
      evt.stopImmediatePropagation();
      var submitter = evt.submitter;
      withLater(source, function (later) {
        later.ask(form, submitter);
      });
    },
    true
  );

  // Enter sends, Shift+Enter starts a new line.
  document.addEventListener("keydown", function (evt) {
    var field = evt.target;
    if (evt.key !== "Enter" || evt.shiftKey || evt.isComposing) return;
    if (!field.matches || !field.matches("textarea[data-enter-submits]")) return;
    evt.preventDefault();
    if (field.value.trim() && field.form) field.form.requestSubmit();
  });


  document.documentElement.classList.add("js");

  // Composer: a preview of the chosen file and voice notes (later.js, loaded on first use), upload progress.
  function composerOf(node) {
    return node && node.closest ? node.closest("[data-composer]") : null;
  }

  function part(form, name) {
    return form.querySelector("[data-" + name + "]");
  }

  // A chosen file (input fires for files too); in the text, later.js says "typing" (SPEC §10).
  document.addEventListener("input", function (evt) {
    var form = composerOf(evt.target);
    if (form) showPreview(form, evt.target);
  });

  document.addEventListener("click", function (evt) {
    var target = evt.target.closest ? evt.target.closest("button") : null;
    var form = composerOf(target);
    if (!form) return;
    if (target.hasAttribute("data-preview-remove")) {
      part(form, "file").value = "";
      showPreview(form);
    } else if (target.hasAttribute("data-record")) {
      if (pressed.swallowClick) pressed.swallowClick = false;
      // keyboard, or a tap on a started recording
      else toggleRecording(form);
    } else if (target.hasAttribute("data-record-cancel")) {
      stopRecording(form, false);
    } else if (target.hasAttribute("data-retry")) {
      resend(form);
    }
  });

  // The composer's state while its post is out: "Sending…"; on a lost answer (network error, or a proxy's
  // 502/503/504) "Not sent" with a Retry button, and the post goes again by itself a few times with backoff.
  // Either way it is the same form, so the same client_msg_id: the server stores it once however many copies
  // arrive. The text is read-only meanwhile so a retry sends what was typed. Success swaps in a fresh composer
  // (a new id).
  var RETRY_DELAYS = [1000, 2000, 4000, 8000];

  function composerPost(evt) {
    var form = evt.detail.elt;
    return form && form.hasAttribute && form.hasAttribute("data-composer") ? form : null;
  }

  function setState(form, state) {
    var status = part(form, "status");
    form.setAttribute("data-state", state);
    status.hidden = !state;
    part(form, "status-text").textContent = state ? form.getAttribute("data-" + state) : "";
    part(form, "retry").hidden = state !== "failed";
  }

  function resend(form) {
    clearTimeout(form.retryTimer);
    if (form.isConnected) htmx.trigger(form, "submit");
  }

  function retryPost(form, lastTry) {
    var tries = Number(form.getAttribute("data-tries") || 0);
    var text = form.querySelector("textarea");
    var giveUp = tries >= RETRY_DELAYS.length;
    form.setAttribute("data-tries", giveUp ? 0 : tries + 1);
    if (text) text.readOnly = !giveUp;
    setState(form, "failed");
    if (!giveUp) {
      form.retryTimer = setTimeout(function () {
        resend(form);
      }, RETRY_DELAYS[tries]);
    }
    return giveUp && lastTry;
  }

  document.addEventListener("htmx:beforeRequest", function (evt) {
    var form = composerPost(evt);
    if (form) setState(form, "sending");
  });

  document.addEventListener("htmx:afterRequest", function (evt) {
    var form = composerPost(evt);
    if (form && evt.detail.successful && form.getAttribute("data-state") === "sending") setState(form, "");
  });

  document.addEventListener("htmx:sendError", function (evt) {
    var form = composerPost(evt);
    if (form) retryPost(form, false);
  });

  document.addEventListener("htmx:beforeSwap", function (evt) {
    var form = composerPost(evt);
    if (!form || [502, 503, 504].indexOf(evt.detail.xhr.status) < 0) return;
    // Our own refusal (a composer with its message) may show once the retries are spent; a proxy's page never.
    var ours = evt.detail.xhr.responseText.indexOf("data-composer") >= 0;
    evt.detail.shouldSwap = retryPost(form, ours);
  });

  document.addEventListener("htmx:xhr:progress", function (evt) {
    if (later) later.progress(composerOf(evt.target), evt.detail); // a file was chosen or recorded: later.js is here
  });

  // What only a visitor's action needs — a chosen file's preview, voice notes (MediaRecorder), the confirmation
  // dialog — is later.js, loaded on first use: a cold page never downloads it (SPEC §7's 25 KB). Its URL is the
  // composer's data-later.
  var later = null;
  var waiting = null;

  function withLater(source, then) {
    if (later) return then(later);
    if (waiting) return waiting.push(then);
    waiting = [then];
    var script = document.createElement("script");
    script.src = source.getAttribute("data-later");
    script.onload = function () {
      later = window.sohbetLater(part);
      waiting.forEach(function (queued) {
        queued(later);
      });
    };
    document.head.appendChild(script);
  }

  function showPreview(form, field) {
    withLater(form, function (l) {
      l.preview(form, field);
    });
  }

  function toggleRecording(form) {
    withLater(form, function (l) {
      l.toggle(form);
    });
  }

  function stopRecording(form, keep) {
    if (later) later.stop(form, keep);
  }

  // Hold or tap: pressing starts a recording; releasing after a hold stops it, a quick tap leaves it running
  // until the next tap. The click that follows a press is swallowed so it does not undo what the press did.
  var pressed = { at: 0, started: false, swallowClick: false };

  document.addEventListener("pointerdown", function (evt) {
    var button = evt.target.closest ? evt.target.closest("[data-record]") : null;
    if (!button || (later && later.active()) || evt.button !== 0) return;
    pressed.at = Date.now();
    pressed.started = true;
    toggleRecording(composerOf(button));
  });

  document.addEventListener("pointerup", function (evt) {
    if (!pressed.started) return;
    pressed.started = false;
    pressed.swallowClick = true;
    var form = composerOf(evt.target);
    if (form && Date.now() - pressed.at > 600) stopRecording(form, true);
  });

  function enableRecorders(root) {
    if (!window.MediaRecorder || !navigator.mediaDevices || !window.DataTransfer) return;
    var forms = [].slice.call((root.querySelectorAll ? root : document).querySelectorAll("[data-composer]"));
    if (root.matches && root.matches("[data-composer]")) forms.push(root);
    forms.forEach(function (form) {
      part(form, "record").hidden = false;
      part(form, "voice-fallback").classList.add("has-recorder");
    });
  }

  // `required` only marks a chosen file for the CSS of pages without JavaScript: not announced here.
  function optionalFiles(root) {
    [].forEach.call((root.querySelectorAll ? root : document).querySelectorAll(".file-input"), function (input) {
      input.required = false;
    });
  }

  document.addEventListener("htmx:load", function (evt) {
    optionalFiles(evt.target);
    enableRecorders(evt.target);
  });

  document.addEventListener("DOMContentLoaded", function () {
    optionalFiles(document);
    enableRecorders(document);
    var list = document.getElementById("messages");
    if (list) list.scrollTop = list.scrollHeight;
  });
})();
