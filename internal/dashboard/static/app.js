// keyward dashboard: the few behaviours that need a script. Every form
// still posts normally and the server checks everything again; this file
// only makes the pages nicer to use. No inline scripts: the CSP forbids
// them, so data comes from data-* attributes.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  // The server's clock, so that countdowns agree with the server even when
  // this computer's clock is off.
  var serverNow = Date.parse(document.body.dataset.serverNow || "");
  var offset = isNaN(serverNow) ? 0 : serverNow - Date.now();
  function now() { return Date.now() + offset; }

  // ---- the org navigation on narrow screens ------------------------------
  // There it is one row that scrolls sideways: bring the current page's
  // link into it, so that the page one is on is always named.
  var nav = document.querySelector(".org-nav");
  var here = nav && nav.querySelector("[aria-current]");
  if (nav && here && nav.scrollWidth > nav.clientWidth) {
    nav.scrollLeft = here.offsetLeft - nav.offsetLeft - (nav.clientWidth - here.offsetWidth) / 2;
  }

  // ---- countdowns ---------------------------------------------------------
  function fmt(ms) {
    if (ms <= 0) return "0s";
    var s = Math.floor(ms / 1000);
    var d = Math.floor(s / 86400); s -= d * 86400;
    var h = Math.floor(s / 3600); s -= h * 3600;
    var m = Math.floor(s / 60); s -= m * 60;
    return (d > 0 ? d + "d " : "") + h + "h " + m + "m " + s + "s";
  }
  function tick() {
    document.querySelectorAll("[data-countdown]").forEach(function (el) {
      var end = Date.parse(el.dataset.countdown);
      if (!isNaN(end)) el.textContent = fmt(end - now());
    });
  }
  if (document.querySelector("[data-countdown]")) { tick(); setInterval(tick, 1000); }

  // ---- dialogs ------------------------------------------------------------
  // Focus goes back to whatever opened the dialog (the ⋯ button for row
  // actions), as the native dialog cannot know that once the menu closed.
  var opener = null;
  function openDialog(dialog, from, url, name) {
    if (!dialog) return;
    opener = from || document.activeElement;
    var form = dialog.querySelector("form[data-dialog-form]");
    if (form) {
      form.reset();
      if (url) form.setAttribute("action", url);
      form.querySelectorAll("[data-must-equal]").forEach(check);
    }
    dialog.querySelectorAll("[data-key-name]").forEach(function (el) { el.textContent = name || ""; });
    // A row action names its key by hint and status too (two rows may
    // share a name after a rotation), and drops the errors a dialog that
    // the server re-opened for another key still shows.
    var row = from && from.closest ? from.closest("tr[data-key-id]") : null;
    dialog.querySelectorAll("[data-key-about]").forEach(function (el) {
      el.hidden = !row;
      if (!row) return;
      el.querySelectorAll("[data-key-hint]").forEach(function (h) { h.textContent = row.dataset.keyHint || ""; });
      el.querySelectorAll("[data-key-status]").forEach(function (h) { h.textContent = row.dataset.keyStatus || ""; });
    });
    if (form && url) {
      form.querySelectorAll(".form-error, .problem").forEach(function (el) { el.remove(); });
      form.querySelectorAll("[aria-invalid]").forEach(function (el) { el.removeAttribute("aria-invalid"); });
    }
    // The native dialog gives focus back to what had it before showModal:
    // make that the opener, not the menu item that is about to hide.
    if (opener && opener.focus) opener.focus();
    dialog.showModal();
  }
  document.querySelectorAll("dialog").forEach(function (d) {
    d.addEventListener("close", function () {
      if (opener && document.contains(opener)) opener.focus();
      opener = null;
    });
  });
  document.addEventListener("click", function (e) {
    var open = e.target.closest("[data-open-dialog]");
    if (open) openDialog(document.getElementById(open.dataset.openDialog), open);
    var close = e.target.closest("[data-close-dialog]");
    if (close) close.closest("dialog").close();
  });
  var reopen = document.querySelector("dialog[data-open-on-load]");
  if (reopen) { opener = document.getElementById("new-key"); reopen.showModal(); }

  // ---- typed confirmation (REVOKE, a project's name) -----------------------
  function check(input) {
    var target = document.getElementById(input.dataset.enables);
    if (target) target.disabled = input.value !== input.dataset.mustEqual;
  }
  document.addEventListener("input", function (e) {
    if (e.target.matches("[data-must-equal]")) check(e.target);
  });
  document.querySelectorAll("[data-must-equal]").forEach(check);

  // ---- the ⋯ row menus (WAI-ARIA menu button) ------------------------------
  function items(menu) { return Array.prototype.slice.call(menu.querySelectorAll("[role=menuitem]")); }
  function menuOf(button) { return document.getElementById(button.getAttribute("aria-controls")); }
  // The list is position: fixed (app.css), so no scroll box clips it: it
  // is placed here from the button's box, below the button or above it
  // when there is no room below, and always inside the viewport.
  var gap = 4, margin = 8;
  function placeMenu(button, menu) {
    var r = button.getBoundingClientRect();
    var vw = document.documentElement.clientWidth, vh = document.documentElement.clientHeight;
    menu.style.maxWidth = Math.max(0, vw - 2 * margin) + "px";
    menu.style.maxHeight = Math.max(0, vh - 2 * margin) + "px";
    var w = menu.offsetWidth, h = menu.offsetHeight;
    // Right edges aligned, unless that leaves the viewport: then left edges.
    var left = r.right - w;
    if (left < margin) left = r.left;
    left = Math.max(margin, Math.min(left, vw - margin - w));
    var below = vh - margin - r.bottom - gap, above = r.top - gap - margin, top;
    if (h <= below || below >= above) {
      top = r.bottom + gap;
      menu.dataset.placement = "below";
    } else {
      top = r.top - gap - h;
      menu.dataset.placement = "above";
    }
    top = Math.max(margin, Math.min(top, vh - margin - h));
    menu.style.left = left + "px";
    menu.style.top = top + "px";
  }
  function openButton() { return document.querySelector("button.actions[aria-expanded=true]"); }
  // Scrolling (the page or the table's box) and resizing move the button:
  // the menu follows it, and closes once the button has left the viewport
  // or the table's box.
  function follow() {
    var button = openButton();
    if (!button) return;
    var r = button.getBoundingClientRect();
    var box = button.closest(".table-wrap");
    var w = box ? box.getBoundingClientRect() : { left: 0, right: document.documentElement.clientWidth };
    if (r.width === 0 || r.bottom < 0 || r.top > document.documentElement.clientHeight || r.right < w.left || r.left > w.right) {
      closeMenu(button, false);
      return;
    }
    placeMenu(button, menuOf(button));
  }
  window.addEventListener("scroll", follow, true);
  window.addEventListener("resize", follow);
  function closeMenu(button, focusButton) {
    var menu = menuOf(button);
    if (!menu || menu.hidden) return;
    menu.hidden = true;
    button.setAttribute("aria-expanded", "false");
    if (focusButton) button.focus();
  }
  function closeAll(except) {
    document.querySelectorAll("button.actions[aria-expanded=true]").forEach(function (b) {
      if (b !== except) closeMenu(b, false);
    });
  }
  function openMenu(button, last) {
    closeAll(button);
    var menu = menuOf(button);
    menu.hidden = false;
    button.setAttribute("aria-expanded", "true");
    placeMenu(button, menu);
    var list = items(menu);
    if (list.length) list[last ? list.length - 1 : 0].focus();
  }
  document.addEventListener("click", function (e) {
    var button = e.target.closest("button.actions");
    if (button) {
      if (button.getAttribute("aria-expanded") === "true") closeMenu(button, true);
      else openMenu(button, false);
      return;
    }
    var item = e.target.closest("[role=menuitem]");
    if (item) {
      var btn = item.closest(".menu").querySelector("button.actions");
      closeMenu(btn, false);
      openDialog(document.getElementById(item.dataset.action + "-dialog"), btn, item.dataset.url, item.dataset.name);
      return;
    }
    if (!e.target.closest("[role=menu]")) closeAll(null);
  });
  document.addEventListener("keydown", function (e) {
    var button = e.target.closest && e.target.closest("button.actions");
    if (button && (e.key === "ArrowDown" || e.key === "ArrowUp")) {
      e.preventDefault();
      openMenu(button, e.key === "ArrowUp");
      return;
    }
    var menu = e.target.closest && e.target.closest("[role=menu]");
    if (!menu) return;
    var list = items(menu), i = list.indexOf(e.target);
    var owner = menu.closest(".menu").querySelector("button.actions");
    switch (e.key) {
      case "ArrowDown": e.preventDefault(); list[(i + 1) % list.length].focus(); break;
      case "ArrowUp": e.preventDefault(); list[(i - 1 + list.length) % list.length].focus(); break;
      case "Home": e.preventDefault(); list[0].focus(); break;
      case "End": e.preventDefault(); list[list.length - 1].focus(); break;
      case "Escape": e.preventDefault(); closeMenu(owner, true); break;
      case "Tab": closeMenu(owner, false); break;
    }
  });

  // ---- copy the secret ----------------------------------------------------
  function selectText(el) {
    var range = document.createRange();
    range.selectNodeContents(el);
    var sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
  }
  document.addEventListener("click", function (e) {
    var b = e.target.closest("[data-copy]");
    if (!b) return;
    var el = document.getElementById(b.dataset.copy);
    var done = function () { b.textContent = "Copied"; };
    var fallback = function () { selectText(el); b.textContent = "Selected: press Ctrl+C"; };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(el.textContent).then(done, fallback);
    } else {
      fallback();
    }
  });

  // ---- create dialog: custom scopes and expiry date --------------------------
  var form = document.getElementById("create-form");
  if (form) {
    var scopes = document.getElementById("custom-scopes");
    var expiry = document.getElementById("key-expiry");
    var dateField = document.getElementById("expiry-date-field");
    var sync = function () {
      var access = form.querySelector("input[name=access]:checked");
      scopes.hidden = !(access && access.value === "custom");
      dateField.hidden = expiry.value !== "date";
      document.getElementById("key-expiry-date").required = expiry.value === "date";
    };
    form.addEventListener("change", sync);
    sync();
  }

  // ---- org switcher ---------------------------------------------------------
  var switcher = document.getElementById("org-switcher");
  if (switcher) {
    switcher.addEventListener("change", function () {
      window.location.assign("/orgs/" + encodeURIComponent(switcher.value) + "/projects");
    });
  }
})();
