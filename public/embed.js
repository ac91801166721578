/* Switchboard embed loader: launcher in a shadow root, lazy wasm widget, window.Switchboard API.
 * Options, API and events: docs/embedding.md. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.__switchboardEmbed) return;
  window.__switchboardEmbed = true;

  var data = script.dataset;
  var src = new URL(script.src, location.href);
  var base = new URL("widget/", src).href;
  var options = {
    endpoint: data.endpoint || src.origin,
    agent: data.agent || "",
    title: data.title || "Support",
    avatar: data.avatar || "",
    color: data.color || "",
    position: data.position === "left" ? "left" : "right",
    locale: data.locale || document.documentElement.lang || navigator.language || "en",
    theme: data.theme || "auto",
  };

  var LAUNCHER_CSS =
    ".sb-launcher{position:fixed;bottom:20px;z-index:2147483000;width:56px;height:56px;" +
    "border:0;border-radius:50%;background:var(--sb-accent,#1f5eff);color:#fff;cursor:pointer;" +
    "box-shadow:0 4px 14px rgba(0,0,0,.25);display:flex;align-items:center;justify-content:center}" +
    ".sb-launcher:focus-visible{outline:3px solid #ffbf47;outline-offset:2px}" +
    ".sb-launcher svg{width:28px;height:28px;fill:currentColor}" +
    ".sb-badge{position:absolute;top:-4px;right:-4px;min-width:20px;height:20px;padding:0 5px;" +
    "box-sizing:border-box;border-radius:10px;background:#c8102e;color:#fff;font:700 12px/20px system-ui,sans-serif;text-align:center}" +
    ".sb-badge[hidden]{display:none}" +
    ".sb-panel-host{position:fixed;bottom:88px;z-index:2147483000}" +
    ".sb-panel-host[hidden]{display:none}" +
    ":host([data-position=right]) .sb-launcher,:host([data-position=right]) .sb-panel-host{right:20px}" +
    ":host([data-position=left]) .sb-launcher,:host([data-position=left]) .sb-panel-host{left:20px}" +
    "@media (max-width:480px){.sb-panel-host{inset:0;bottom:0}:host([data-open]) .sb-launcher{top:8px;bottom:auto;width:40px;height:40px}}";

  function svg(path) {
    var ns = "http://www.w3.org/2000/svg";
    var el = document.createElementNS(ns, "svg");
    el.setAttribute("viewBox", "0 0 24 24");
    el.setAttribute("aria-hidden", "true");
    var p = document.createElementNS(ns, "path");
    p.setAttribute("d", path);
    el.appendChild(p);
    return el;
  }
  var CHAT_ICON = "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z";
  var CLOSE_ICON = "M18.3 5.7 12 12l6.3 6.3-1.4 1.4L10.6 13.4 4.3 19.7 2.9 18.3 9.2 12 2.9 5.7 4.3 4.3l6.3 6.3 6.3-6.3z";

  // Our own host element, no id or class; inline !important beats the page's (docs/embedding.md).
  var TAG = "switchboard-chat";
  var elements = window.customElements;
  if (elements && !elements.get(TAG)) elements.define(TAG, class extends HTMLElement {});
  var host = document.createElement(TAG);
  "all:initial;position:fixed;z-index:2147483000;display:block;top:0;left:0".split(";").forEach(function (d) {
    d = d.split(":");
    host.style.setProperty(d[0], d[1], "important");
  });
  var root = host.attachShadow({ mode: "open" });
  var sheet = new CSSStyleSheet();
  sheet.replaceSync(LAUNCHER_CSS);
  var accent = new CSSStyleSheet();
  root.adoptedStyleSheets = [sheet, accent];

  var launcher = document.createElement("button");
  launcher.type = "button";
  launcher.className = "sb-launcher";
  launcher.setAttribute("aria-expanded", "false");
  launcher.setAttribute("aria-controls", "sb-panel");
  var badge = document.createElement("span");
  badge.className = "sb-badge";
  badge.hidden = true;

  var panel = document.createElement("div");
  panel.id = "sb-panel";
  panel.className = "sb-panel-host";
  panel.hidden = true;
  root.append(panel, launcher);
  // For site owners' and our own timing: the frame in which the launcher is first drawn.
  if (window.performance && performance.mark) {
    requestAnimationFrame(function () { performance.mark("switchboard:launcher"); });
  }

  // Settings that CSS reads: accent colour, side, theme, language direction.
  function applyOptions() {
    host.dataset.position = options.position;
    host.dataset.theme = options.theme;
    host.lang = options.locale;
    host.dir = /^(ar|he|fa|ur)\b/i.test(options.locale) ? "rtl" : "ltr";
    accent.replaceSync(options.color ? ":host{--sb-accent:" + options.color.replace(/[;{}()]/g, "") + "}" : "");
    drawLauncher();
  }

  // Events for the page: Switchboard("on", name, callback).
  var listeners = {};
  function emit(name, detail) {
    (listeners[name] || []).forEach(function (callback) {
      try {
        callback(detail);
      } catch (e) {
        setTimeout(function () { throw e; });
      }
    });
  }

  var unread = 0;
  function drawLauncher() {
    var open = !panel.hidden;
    launcher.setAttribute("aria-expanded", String(open));
    var label = open ? "Close chat" : "Open chat";
    launcher.setAttribute("aria-label", unread && !open ? label + " (" + unread + " unread)" : label);
    badge.textContent = String(unread);
    badge.hidden = open || unread === 0;
    launcher.replaceChildren(svg(open ? CLOSE_ICON : CHAT_ICON), badge);
  }

  // Commands for the widget wait here until it is mounted.
  var pending = [];
  var mounted = false;
  function toWidget(name, detail) {
    if (!mounted) {
      pending.push([name, detail]);
      load();
      return;
    }
    panel.dispatchEvent(new CustomEvent("switchboard:command", { detail: { name: name, value: detail } }));
  }
  panel.addEventListener("switchboard:event", function (event) {
    var e = event.detail || {};
    if (e.name === "message" && panel.hidden && e.value && e.value.role !== "user") {
      unread += 1;
      drawLauncher();
      emit("unread", { count: unread });
    }
    emit(e.name, e.value);
  });

  var loading = null;
  function load() {
    if (!loading) {
      var link = document.createElement("link");
      link.rel = "stylesheet";
      link.href = base + "widget.css";
      if (data.nonce) link.nonce = data.nonce;
      root.appendChild(link);
      loading = import(base + "switchboard_widget.js")
        .then(function (widget) {
          return widget.default().then(function () {
            widget.mount(panel, options.endpoint, options.agent, options.title, options.avatar);
            mounted = true;
            toWidget("setLocale", options.locale);
            pending.splice(0).forEach(function (c) { toWidget(c[0], c[1]); });
            emit("ready", {});
          });
        })
        .catch(function (error) {
          loading = null;
          var p = document.createElement("p");
          p.className = "sb-load-error";
          p.setAttribute("role", "alert");
          p.textContent = "The chat could not be loaded. Please try again later.";
          panel.replaceChildren(p);
          throw error;
        });
    }
    return loading;
  }

  function focusInput() {
    var input = panel.querySelector("textarea, input");
    if (input) input.focus();
  }

  function setOpen(open) {
    if (open === !panel.hidden) return;
    panel.hidden = !open;
    host.toggleAttribute("data-open", open);
    if (open) unread = 0;
    drawLauncher();
    emit(open ? "open" : "close", {});
    if (open) load().then(focusInput, function () {});
    else launcher.focus();
  }

  launcher.addEventListener("click", function () { setOpen(panel.hidden); });
  root.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && !panel.hidden) setOpen(false);
  });

  var commands = {
    boot: function (settings) {
      settings = settings || {};
      ["endpoint", "agent", "title", "avatar", "color", "position", "locale", "theme"].forEach(function (k) {
        if (settings[k]) options[k] = String(settings[k]);
      });
      applyOptions();
    },
    identify: function (identity) { toWidget("identify", identity || {}); },
    open: function () { setOpen(true); },
    close: function () { setOpen(false); },
    toggle: function () { setOpen(panel.hidden); },
    sendMessage: function (text) { if (text) toWidget("sendMessage", String(text)); },
    setLocale: function (locale) {
      options.locale = String(locale || "en");
      applyOptions();
      if (mounted) toWidget("setLocale", options.locale);
    },
    shutdown: function () {
      // Logout: forget the stored session so the next visitor on this browser starts afresh.
      try {
        Object.keys(localStorage).forEach(function (k) {
          if (k.indexOf("switchboard:") === 0) localStorage.removeItem(k);
        });
      } catch (e) {}
      if (mounted) toWidget("shutdown");
      setOpen(false);
      unread = 0;
      drawLauncher();
    },
    on: function (name, callback) {
      if (typeof callback === "function") (listeners[name] = listeners[name] || []).push(callback);
    },
  };

  function call(args) {
    var command = commands[args[0]];
    if (command) command(args[1], args[2]);
    else if (window.console) console.warn("Switchboard: unknown command", args[0]);
  }

  var queued = (window.Switchboard && window.Switchboard.q) || [];
  window.Switchboard = function () { call(arguments); };

  applyOptions();
  function attach() {
    document.body.appendChild(host);
    queued.forEach(call);
    if (data.load === "idle") {
      var idle = window.requestIdleCallback || function (f) { setTimeout(f, 1500); };
      idle(function () { load().catch(function () {}); });
    }
  }
  if (document.body) attach();
  else document.addEventListener("DOMContentLoaded", attach);
})();
