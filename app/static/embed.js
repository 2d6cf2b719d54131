/* Sohbet launcher: turns <a data-sohbet> into a chat button; the chat (an iframe of /embed) loads on the first
   click. No dependency. It adds one element to the host page, whose shadow root holds the UI, styled by a
   constructed stylesheet (a strict CSP allows it; nothing inline). Only counts and events cross the windows.
   Served with comment lines and indentation removed (app/routes/embed.py). */
(function (w, d) {
  "use strict";
  var me = d.currentScript;
  if (!me || !w.CSSStyleSheet || !("adoptedStyleSheets" in d) || !d.head.attachShadow) return;
  var S = new URL(me.src).origin;
  // The workspace's branding (accent c, site name n, greeting g) and business hours (h: [day 0=Mon, start, end]
  // minutes of the wall clock in zone z; none: always open), written in by the server (app/routes/embed.py).
  var B = "__SOHBET_BRAND__";

  // Outside the business hours (SPEC §9 away mode), read on the zone's wall clock ("Mon 09:30"); no hours: never.
  function closed() {
    if (!B.h) return;
    var t = new Date().toLocaleString("en-US", { timeZone: B.z, weekday: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
    var day = "MonTueWedThuFriSatSun".indexOf(t.slice(0, 3)) / 3, m = t.slice(4, 6) * 60 + +t.slice(7, 9);
    return !B.h.some(function (s) { return s[0] == day && s[1] <= m && m < s[2]; });
  }

  function el(tag, attrs, parent) {
    var node = d.createElement(tag);
    for (var k in attrs) node.setAttribute(k, attrs[k]);
    return parent.appendChild(node);
  }

  function init() {
    var a = d.querySelector("a[data-sohbet]");
    if (!a) return;
    var ds = a.dataset;
    var lang = /^(en|tr)$/.test(ds.lang) ? ds.lang : "";
    var tr = (lang || d.documentElement.lang).slice(0, 2) == "tr";
    var label = a.textContent.trim().slice(0, 80) || "Chat";
    var color = CSS.supports("color", ds.color) && !/[;{}<\\]/.test(ds.color) ? ds.color : B.c || "#0b5cad";
    var key = "sohbet:" + S;
    var st = {};
    function save() {
      try {
        sessionStorage[key] = JSON.stringify(st);
      } catch (e) {}
    }
    try {
      st = JSON.parse(sessionStorage[key]) || {};
    } catch (e) {}
    var enc = encodeURIComponent;
    var ctx = "origin=" + enc(location.origin) + "&url=" + enc(location.href.split("#")[0].slice(0, 1000)) +
      "&ref=" + enc(d.referrer.slice(0, 1000)) + (lang && "&lang=" + lang);
    var popUrl = S + "/?src=embed&" + ctx;

    var host = d.createElement("sohbet-chat");
    if (ds.position == "left") host.className = "l";
    var root = host.attachShadow({ mode: "open" });
    var sheet = new CSSStyleSheet();
    sheet.replaceSync(
      ":host{all:initial;position:fixed;z-index:2147483000;bottom:16px;right:16px;font:15px system-ui,sans-serif;--c:" + color + "}" +
      ":host(.l){right:auto;left:16px}:host(.l) #p,:host(.l) .g{right:auto;left:0}[hidden]{display:none!important}" +
      ".b{position:relative;width:56px;height:56px;border:0;border-radius:50%;background:var(--c);color:#fff;cursor:pointer;box-shadow:0 2px 9px #0006}" +
      ":focus-visible{outline:3px solid #f59e0b}svg{width:28px;fill:currentColor;vertical-align:middle}" +
      ".n{position:absolute;top:-4px;right:-4px;padding:0 5px;border-radius:9px;background:#b42318;font:700 12px/18px sans-serif}" +
      "#p,.g{position:absolute;bottom:68px;right:0;background:#fff;border-radius:12px;box-shadow:0 2px 9px #0006}" +
      "#p{display:flex;flex-direction:column;width:min(380px,100vw - 32px);height:min(600px,100vh - 100px);overflow:hidden}" +
      ".h{display:flex;align-items:center;justify-content:space-between;padding:4px 4px 4px 14px;background:var(--c);color:#fff;font-weight:600}" +
      ".x{width:40px;height:40px;border:0;background:none;color:inherit;font-size:24px}" +
      "iframe{flex:1;border:0}.o{display:none;padding:14px}.f .o{display:block}" +
      ".g{max-width:240px;margin:0;padding:8px 12px}.v{position:absolute;clip-path:inset(50%)}" +
      ".o svg{width:14px;margin-left:4px}" +
      // Away (outside hours, or the chat said nobody is there): the button in grey.
      ":host(.a) .b{filter:grayscale(1)}" +
      // A phone: the open panel fills the screen and has its own close; the button would cover the composer.
      "@media (max-width:480px){#p{position:fixed;inset:0;width:auto;height:auto;border-radius:0}#p:not([hidden])~*{display:none}}"
    );
    root.adoptedStyleSheets = [sheet];

    var panel = el("div", { id: "p", role: "dialog", "aria-label": label, hidden: "" }, root);
    var head = el("div", { class: "h" }, panel);
    el("span", {}, head).textContent = B.n || label;
    var x = el("button", { class: "x", "aria-label": tr ? "Kapat" : "Close" }, head);
    x.textContent = "\u00d7";
    function icon(parent, path) {
      var svg = "http://www.w3.org/2000/svg";
      var node = parent.appendChild(d.createElementNS(svg, "svg"));
      node.setAttribute("viewBox", "0 0 24 24");
      node.setAttribute("aria-hidden", "true");
      node.appendChild(d.createElementNS(svg, "path")).setAttribute("d", path);
    }
    var out = el("a", { class: "o", href: popUrl, target: "_blank", rel: "noopener" }, panel);
    out.textContent = label;
    icon(out, "M14 3h7v7h-2V6.4l-8.3 8.3-1.4-1.4L17.6 5H14zM5 5h6v2H7v10h10v-4h2v6H5z");
    var btn = el("button", { class: "b", "aria-controls": "p", "aria-expanded": "false" }, root);
    icon(btn, "M3 4h18v13H9l-5 4v-4H3z");
    var badge = el("span", { class: "n", "aria-hidden": "true" }, btn);
    var live = el("span", { class: "v", role: "status" }, root);
    var greeting = ds.greeting || B.g;
    var bubble = greeting && !st.g && el("p", { class: "g", id: "g" }, root);
    if (bubble) {
      bubble.textContent = greeting.slice(0, 200);
      btn.setAttribute("aria-describedby", "g");
    }
    a.remove();
    d.body.appendChild(host);

    var frame, ready, timer, wantFocus, away;
    function mark(v) {
      host.classList.toggle("a", (away = !!v));
      count(st.n || 0);
    }
    function post(m) {
      m.sohbet = 1;
      if (frame) frame.contentWindow.postMessage(m, S);
    }
    function fail() {
      if (!ready) panel.className = "f";
    }
    function wait(ms) {
      clearTimeout(timer);
      timer = setTimeout(fail, ms);
    }
    function load() {
      if (frame) return;
      frame = el("iframe", {
        src: S + "/embed?" + ctx,
        title: label,
        // No sandbox: the chat needs its own origin's cookies and scripts, and sandboxing with both
        // allow-scripts and allow-same-origin protects nothing (Chromium warns). It is another origin anyway.
        allow: "autoplay; microphone"
      }, panel);
      frame.onload = function () {
        ready = 0;
        wait(5000);
        post({ t: "hello", open: !panel.hidden });
      };
      wait(8000);
    }
    function count(n) {
      st.n = n;
      save();
      badge.textContent = n > 9 ? "9+" : n;
      badge.hidden = !n;
      var name = label + (away ? (tr ? " (uzakta)" : " (away)") : "");
      var text = n ? name + " (" + n + (tr ? " okunmamış)" : " unread)") : name;
      btn.setAttribute("aria-label", text);
      live.textContent = n ? text : "";
    }
    function pop() {
      w.open(popUrl, "_blank", "noopener");
    }
    function focusChat() {
      wantFocus = 0;
      frame.focus();
      post({ t: "focus" });
    }
    function toggle(open, focus) {
      open = !!open;
      if (open && st.b) return pop();
      if (open) load();
      panel.hidden = !open;
      btn.setAttribute("aria-expanded", open);
      st.o = open;
      count(open ? 0 : st.n);
      post({ t: "open", v: open });
      if (open) {
        st.g = 1;
        if (bubble) bubble.remove();
        wantFocus = focus;
        if (focus) ready ? focusChat() : x.focus();
      } else if (focus) btn.focus();
    }

    btn.onclick = function () {
      toggle(panel.hidden, 1);
    };
    x.onclick = function () {
      toggle(0, 1);
    };
    if (bubble) bubble.onclick = btn.onclick;
    root.addEventListener("keydown", function (e) {
      if (e.key == "Escape" && !panel.hidden) toggle(0, 1);
    });
    // The host page's CSP refused the frame (frame-src): offer the link at once.
    d.addEventListener("securitypolicyviolation", function (e) {
      if (frame && !e.blockedURI.indexOf(S)) fail();
    });
    w.addEventListener("message", function (e) {
      var m = e.data;
      if (e.origin != S || !frame || e.source != frame.contentWindow || !m || m.sohbet != 1) return;
      var t = m.t;
      // The chat says whether support is away (agents included), on loading and on each change.
      if (m.away != null) mark(m.away);
      if (t == "ready") {
        ready = 1;
        clearTimeout(timer);
        panel.className = "";
        st.c = m.chat;
        if (!m.cookies) {
          // Cookies refused in the iframe (e.g. Safari): from now on the chat opens in its own window.
          st.b = 1;
          if (!panel.hidden && navigator.userActivation && navigator.userActivation.isActive) {
            toggle(0, 1);
            pop();
          }
        } else if (wantFocus && !panel.hidden) focusChat();
        save();
      }
      if (t == "chat") {
        st.c = m.on;
        save();
      }
      if (t == "msg" && panel.hidden) {
        count((st.n || 0) + 1);
        d.dispatchEvent(new CustomEvent("sohbet:unread", { detail: { count: st.n } }));
      }
      if (t == "close" && !panel.hidden) toggle(0, 1);
    });

    mark(closed());
    if (st.b) return;
    if (st.o) toggle(1);
    // A conversation is going on: load it in the background, so replies raise the badge on this page too.
    else if (st.c) d.readyState == "complete" ? load() : w.addEventListener("load", load);
  }

  d.readyState == "loading" ? d.addEventListener("DOMContentLoaded", init) : init();
})(window, document);
