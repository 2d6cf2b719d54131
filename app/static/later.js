/* Sohbet: what only a visitor's action needs, loaded by app.js on first use (a cold page never downloads this): a
   chosen file's preview, voice notes with MediaRecorder, the dialog that confirms a data-confirm form.
   `part(form, name)` is app.js's. */
window.sohbetLater = function (part) {
  "use strict";
  var recorder = null;

  // `field`: what changed (none: the preview's own Remove); the text says "typing" instead.
  function showPreview(form, field) {
    if (field && field.name === "text") return typing(form, field);
    var input = part(form, "file");
    var box = part(form, "preview");
    var media = part(form, "preview-media");
    var file = input && input.files && input.files[0];
    media.textContent = "";
    if (!file) {
      box.hidden = true;
      return;
    }
    var element = document.createElement(file.type.indexOf("audio/") === 0 ? "audio" : "img");
    element.src = URL.createObjectURL(file);
    if (element.tagName === "AUDIO") element.controls = true;
    else element.alt = "";
    media.appendChild(element);
    part(form, "preview-name").textContent = file.name + " (" + Math.ceil(file.size / 1024) + " KB)";
    box.hidden = false;
  }

  function recordingType() {
    var types = ["audio/ogg;codecs=opus", "audio/webm;codecs=opus", "audio/webm"];
    for (var i = 0; i < types.length; i++) {
      if (window.MediaRecorder.isTypeSupported(types[i])) return types[i];
    }
    return "";
  }

  function toggle(form) {
    if (recorder) {
      stop(form, true);
      return;
    }
    navigator.mediaDevices.getUserMedia({ audio: true }).then(function (stream) {
      var type = recordingType();
      var chunks = [];
      var started = Date.now();
      var button = part(form, "record");
      recorder = new MediaRecorder(stream, type ? { mimeType: type } : undefined);
      recorder.keep = true;
      recorder.ondataavailable = function (e) {
        if (e.data.size) chunks.push(e.data);
      };
      recorder.onstop = function () {
        stream.getTracks().forEach(function (track) {
          track.stop();
        });
        clearInterval(recorder.timer);
        var keep = recorder.keep;
        recorder = null;
        button.setAttribute("aria-pressed", "false");
        part(form, "recording").hidden = true;
        if (!keep || !chunks.length) return;
        var mime = (type || "audio/webm").split(";")[0];
        var name = "voice-note." + (mime === "audio/ogg" ? "ogg" : "webm");
        var transfer = new DataTransfer();
        transfer.items.add(new File(chunks, name, { type: mime }));
        part(form, "file").files = transfer.files;
        showPreview(form);
      };
      recorder.timer = setInterval(function () {
        var seconds = Math.floor((Date.now() - started) / 1000);
        part(form, "elapsed").textContent = Math.floor(seconds / 60) + ":" + String(seconds % 60).padStart(2, "0");
      }, 250);
      recorder.start();
      button.setAttribute("aria-pressed", "true");
      part(form, "recording").hidden = false;
    }).catch(function () {
      // no microphone: the file input stays
      part(form, "record").hidden = true;
      part(form, "voice-fallback").classList.remove("has-recorder");
    });
  }

  function stop(form, keep) {
    if (!recorder) return;
    recorder.keep = keep;
    recorder.stop();
  }

  // Asks in a dialog; two buttons: [0] cancel, [1] the form's own action, which posts it with confirm=yes.
  function ask(form, submitter) {
    var dialog = document.createElement("dialog");
    var question = form.getAttribute("data-confirm");
    dialog.className = "ask";
    dialog.setAttribute("aria-label", question);
    dialog.appendChild(document.createElement("p")).textContent = question;
    [form.getAttribute("data-cancel"), (submitter || form.querySelector("button")).textContent].forEach(
      function (label, yes) {
        var button = dialog.appendChild(document.createElement("button"));
        button.className = yes ? "danger" : "secondary";
        button.textContent = label;
        button.addEventListener("click", function () {
          dialog.close();
          if (!yes) return;
          form.insertAdjacentHTML("beforeend", '<input type="hidden" name="confirm" value="yes">');
          form.requestSubmit();
        });
      }
    );
    dialog.addEventListener("close", function () {
      dialog.remove();
    });
    document.body.appendChild(dialog);
    dialog.showModal();
  }

  // "Typing" (SPEC §10): at most every 2 s while the composer's text changes, to its form's address with
  // `messages` -> `typing`; the draft only where the page allows it (data-draft: TYPING_PREVIEW=on).
  var typedAt = 0;
  function typing(form, field) {
    if (!field.value.trim() || Date.now() - typedAt < 2000) return;
    typedAt = Date.now();
    var body = new URLSearchParams();
    body.append("_csrf_token", form.elements._csrf_token.value);
    if (form.hasAttribute("data-draft")) body.append("text", field.value.slice(0, 200));
    fetch(form.getAttribute("action").replace(/messages(\?.*)?$/, "typing"), { method: "POST", body: body }).catch(
      function () {} // a live hint: a lost one does not matter
    );
  }

  // Upload progress, for files over 100 KB.
  function progress(form, detail) {
    var bar = form && part(form, "progress");
    if (!bar || !detail.lengthComputable || detail.total < 100000) return;
    bar.hidden = false;
    bar.value = Math.round((detail.loaded / detail.total) * 100);
  }

  return {
    ask: ask,
    progress: progress,
    preview: showPreview,
    toggle: toggle,
    stop: stop,
    active: function () {
      return recorder !== null;
    },
  };
};
