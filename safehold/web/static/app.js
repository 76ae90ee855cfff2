/* Safehold review: keyboard categorisation in the gallery and the reveal countdown.
 * Loaded from this server only (the CSP forbids inline scripts).
 *
 * Gallery keys: arrows or h/j/k/l move, digit categorises the selected item, Shift+digit its
 * whole near-duplicate cluster, Enter opens it. Each decision is a POST with the page's CSRF
 * token; the tiles it changed are updated from the JSON answer.
 */
(function () {
  "use strict";

  function csrf() {
    var m = document.querySelector('meta[name="csrf-token"]');
    return m ? m.getAttribute("content") : "";
  }

  function toast(text, bad) {
    var t = document.getElementById("toast");
    if (!t) { return; }
    t.textContent = text;
    t.className = "toast" + (bad ? " error" : "");
    clearTimeout(toast.timer);
    toast.timer = setTimeout(function () { t.className = "toast hidden"; }, 2500);
  }

  function tiles() { return Array.prototype.slice.call(document.querySelectorAll(".gallery .tile[data-sha]")); }

  function selected() { return document.querySelector(".gallery .tile.selected"); }

  function select(tile) {
    var old = selected();
    if (old) { old.classList.remove("selected"); }
    if (!tile) { return; }
    tile.classList.add("selected");
    tile.focus({ preventScroll: false });
  }

  function columns(list) {
    if (list.length < 2) { return 1; }
    var top = list[0].offsetTop, n = 0;
    while (n < list.length && list[n].offsetTop === top) { n++; }
    return Math.max(1, n);
  }

  function move(delta) {
    var list = tiles();
    if (!list.length) { return; }
    var cur = list.indexOf(selected());
    var next = cur < 0 ? 0 : Math.min(list.length - 1, Math.max(0, cur + delta));
    select(list[next]);
  }

  function updateTiles(items) {
    items.forEach(function (it) {
      document.querySelectorAll('.tile[data-sha="' + it.sha256 + '"] .badge.decision').forEach(function (b) {
        b.textContent = it.label + (it.status === "pending" ? " (pending)" : "");
        b.className = "badge decision " + it.status;
      });
    });
  }

  function categorise(tile, code, cluster) {
    var base = document.querySelector(".gallery").getAttribute("data-base");
    var body = new URLSearchParams({ code: code, cluster: cluster ? "true" : "false" });
    fetch(base + "/items/" + tile.getAttribute("data-sha") + "/categorise", {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf(), "Content-Type": "application/x-www-form-urlencoded",
                 "Accept": "application/json" },
      body: body.toString()
    }).then(function (r) {
      return r.json().then(function (j) { return { ok: r.ok, json: j }; });
    }).then(function (res) {
      if (!res.ok) { toast(res.json.error || "refused", true); return; }
      updateTiles(res.json.items);
      toast((cluster ? "cluster of " + res.json.items.length + ": " : "") + res.json.items[0].label);
      if (!cluster) { move(1); }
    }).catch(function () { toast("network error", true); });
  }

  document.addEventListener("keydown", function (e) {
    if (!document.querySelector(".gallery[data-base]")) { return; }
    var t = e.target;
    if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT")) { return; }
    if (e.ctrlKey || e.metaKey || e.altKey) { return; }
    var m = /^(Digit|Numpad)([0-9])$/.exec(e.code || "");
    if (m) {
      var tile = selected();
      if (tile) { e.preventDefault(); categorise(tile, m[2], e.shiftKey); }
      return;
    }
    var step = { ArrowRight: 1, l: 1, ArrowLeft: -1, h: -1 }[e.key];
    if (step === undefined && (e.key === "ArrowDown" || e.key === "j")) { step = columns(tiles()); }
    if (step === undefined && (e.key === "ArrowUp" || e.key === "k")) { step = -columns(tiles()); }
    if (step !== undefined) { e.preventDefault(); move(step); return; }
    if (e.key === "Enter" && selected()) { e.preventDefault(); window.location.assign(selected().href); }
  });

  document.addEventListener("click", function (e) {
    var tile = e.target.closest && e.target.closest(".gallery .tile[data-sha]");
    if (tile && !e.shiftKey && !e.ctrlKey && !e.metaKey && e.detail === 1 && !tile.classList.contains("selected")) {
      e.preventDefault();  // first click selects, a second opens
      select(tile);
    }
  });

  /* After a reveal, count down and put the blurred picture back when the window closes; the
   * server refuses the clear picture after that anyway. */
  function startCountdowns(root) {
    (root || document).querySelectorAll("[data-reveal-expires]").forEach(function (el) {
      if (el.getAttribute("data-started")) { return; }
      el.setAttribute("data-started", "1");
      var ends = Date.parse(el.getAttribute("data-reveal-expires"));
      var out = el.querySelector(".countdown");
      var tick = function () {
        var left = Math.round((ends - Date.now()) / 1000);
        if (left <= 0) {
          var blurred = el.getAttribute("data-blurred");
          var holder = document.createElement("img");
          holder.src = blurred;
          holder.alt = "blurred preview";
          el.replaceWith(holder);
          return;
        }
        if (out) { out.textContent = left + " s left"; }
        setTimeout(tick, 500);
      };
      tick();
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    startCountdowns(document);
    var first = tiles()[0];
    if (first && !selected()) { select(first); }
  });
  document.addEventListener("htmx:afterSwap", function (e) { startCountdowns(e.target); });
})();
