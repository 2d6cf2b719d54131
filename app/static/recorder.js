/* Sohbet: voice notes with MediaRecorder, loaded by app.js on the first press of a composer's microphone (a cold
   page never downloads it). `part(form, name)` and `showPreview(form)` are app.js's. */
window.sohbetRecorder = function (part, showPreview) {
  "use strict";
  var recorder = null;

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

  return {
    toggle: toggle,
    stop: stop,
    active: function () {
      return recorder !== null;
    },
  };
};
