/*
 * Switchboard embed loader. A site adds one tag:
 *   <script src="https://<edge>/embed.js" async data-title="Support"></script>
 * Options (data- attributes): data-endpoint (API origin; defaults to this script's origin),
 * data-title (panel header). The launcher is drawn at once inside a shadow root; the widget's
 * wasm and stylesheet load on the first open.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.__switchboardEmbed) return;
  window.__switchboardEmbed = true;

  var src = new URL(script.src, location.href);
  var endpoint = script.dataset.endpoint || src.origin;
  var title = script.dataset.title || "Support";
  var base = new URL("widget/", src).href;

  var LAUNCHER_CSS =
    ":host{all:initial}" +
    ".sb-launcher{position:fixed;right:20px;bottom:20px;z-index:2147483000;width:56px;height:56px;" +
    "border:0;border-radius:50%;background:var(--sb-accent,#1f5eff);color:#fff;cursor:pointer;" +
    "box-shadow:0 4px 14px rgba(0,0,0,.25);display:flex;align-items:center;justify-content:center}" +
    ".sb-launcher:focus-visible{outline:3px solid #ffbf47;outline-offset:2px}" +
    ".sb-launcher svg{width:28px;height:28px;fill:currentColor}" +
    ".sb-panel-host{position:fixed;right:20px;bottom:88px;z-index:2147483000}" +
    ".sb-panel-host[hidden]{display:none}";

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

  var host = document.createElement("div");
  host.id = "switchboard-widget";
  var root = host.attachShadow({ mode: "open" });
  var sheet = new CSSStyleSheet();
  sheet.replaceSync(LAUNCHER_CSS);
  root.adoptedStyleSheets = [sheet];

  var launcher = document.createElement("button");
  launcher.type = "button";
  launcher.className = "sb-launcher";
  launcher.setAttribute("aria-label", "Open chat");
  launcher.setAttribute("aria-expanded", "false");
  launcher.setAttribute("aria-controls", "sb-panel");
  launcher.appendChild(svg(CHAT_ICON));

  var panel = document.createElement("div");
  panel.id = "sb-panel";
  panel.className = "sb-panel-host";
  panel.hidden = true;
  root.append(panel, launcher);

  var loading = null;
  function load() {
    if (!loading) {
      var link = document.createElement("link");
      link.rel = "stylesheet";
      link.href = base + "widget.css";
      root.appendChild(link);
      loading = import(base + "switchboard_widget.js")
        .then(function (widget) {
          return widget.default().then(function () {
            widget.mount(panel, endpoint, title);
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
    var input = panel.querySelector("input");
    if (input) input.focus();
  }

  launcher.addEventListener("click", function () {
    var opening = panel.hidden;
    panel.hidden = !opening;
    launcher.setAttribute("aria-expanded", String(opening));
    launcher.setAttribute("aria-label", opening ? "Close chat" : "Open chat");
    launcher.replaceChildren(svg(opening ? CLOSE_ICON : CHAT_ICON));
    if (opening) load().then(focusInput, function () {});
  });

  function attach() {
    document.body.appendChild(host);
  }
  if (document.body) attach();
  else document.addEventListener("DOMContentLoaded", attach);
})();
