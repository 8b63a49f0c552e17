/* 三亮助手 chat page: talks to /api/* on this server only. No inline script (CSP). */
(function () {
  "use strict";
  var T = document.body.dataset;
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var log = document.getElementById("log");
  var form = document.getElementById("form");
  var input = document.getElementById("input");
  var status = document.getElementById("status");
  var badge = document.getElementById("unread");
  var big = document.getElementById("big");
  var lastId = 0;
  var unseen = 0;
  var events = null;
  var baseTitle = document.title;
  var busy = false;

  // -- 大字 -------------------------------------------------------------------------
  function setLarge(on) {
    document.documentElement.classList.toggle("large", on);
    big.setAttribute("aria-pressed", on ? "true" : "false");
    try { localStorage.setItem("sl-large", on ? "1" : "0"); } catch (e) { /* private mode */ }
  }
  try { setLarge(localStorage.getItem("sl-large") === "1"); } catch (e) { setLarge(false); }
  big.addEventListener("click", function () {
    setLarge(!document.documentElement.classList.contains("large"));
  });

  // -- showing messages ---------------------------------------------------------------
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text != null) node.textContent = text;
    return node;
  }

  function scrollDown() {
    window.scrollTo(0, document.body.scrollHeight);
  }

  function retireButtons() {
    // Only the newest answers keep their buttons: older ones would clutter the page.
    var sets = log.querySelectorAll(".buttons");
    for (var i = 0; i < sets.length; i++) sets[i].remove();
  }

  function buttonRow(labels) {
    var row = el("div", "row");
    labels.forEach(function (pair) {
      var b = el("button", null, pair[0]);
      b.type = "button";
      b.addEventListener("click", function () { press(pair[1], pair[0]); });
      row.appendChild(b);
    });
    return row;
  }

  function render(m) {
    if (m.id && m.id <= lastId) return null;
    if (m.id) lastId = m.id;
    var loading = document.getElementById("loading");
    if (loading) loading.remove();
    var box = el("div", "msg " + m.role);
    if (m.role === "user") {
      retireButtons();
      box.appendChild(el("span", "who sr-only", T.you + "："));
      box.appendChild(el("div", "bubble", m.text));
    } else {
      box.appendChild(el("span", "who", T.bot));
      if (m.unread) box.appendChild(el("span", "new", T["new"]));
      var bubble = el("div", "bubble");
      bubble.innerHTML = m.html; // rebuilt on the server from an allow-list of tags
      box.appendChild(bubble);
      var rows = (m.buttons || []).slice();
      var set = el("div", "buttons");
      rows.forEach(function (labels) { set.appendChild(buttonRow(labels)); });
      if (m.location && navigator.geolocation) {
        var loc = el("button", "act", T.location);
        loc.type = "button";
        loc.addEventListener("click", shareLocation);
        set.insertBefore(loc, set.firstChild);
      }
      if (set.childNodes.length) box.appendChild(set);
      if (m.contact) box.appendChild(el("p", "hint", T.contact));
      input.setAttribute("inputmode", m.number || m.contact ? "numeric" : "text");
    }
    log.appendChild(box);
    return box;
  }

  function renderAll(list, fromStart) {
    // A long answer is read from its beginning: its first line goes to the top of the
    // screen. A short one (or a reload) scrolls to the end as chat apps do.
    var first = null;
    list.forEach(function (m) {
      var box = render(m);
      if (box && !first && m.role !== "user") first = box;
    });
    if (fromStart && first) {
      var room = window.innerHeight - form.offsetHeight - 80;
      var tall = document.body.scrollHeight - first.offsetTop > room;
      if (tall) { first.scrollIntoView({ block: "start" }); return; }
    }
    scrollDown();
  }

  function showStatus(text, retry) {
    status.textContent = text || "";
    if (retry) {
      var b = el("button", "act", T.retry);
      b.type = "button";
      b.addEventListener("click", function () { status.textContent = ""; retry(); });
      status.appendChild(document.createTextNode(" "));
      status.appendChild(b);
    }
  }

  function htmlText(html) {
    var d = document.createElement("div");
    d.innerHTML = html;
    return d.textContent;
  }

  // -- talking to the server ----------------------------------------------------------
  function newId() {
    var a = new Uint8Array(12);
    (window.crypto || window.msCrypto).getRandomValues(a);
    return Array.prototype.map.call(a, function (x) { return ("0" + x.toString(16)).slice(-2); }).join("");
  }

  function post(path, body) {
    return fetch(path, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body)
    });
  }

  function send(body, shown) {
    if (busy) return;
    busy = true;
    body.cid = newId();
    var pending = null;
    if (shown) {
      retireButtons();
      pending = el("div", "msg user pending");
      pending.appendChild(el("div", "bubble", shown));
      log.appendChild(pending);
      scrollDown();
    }
    showStatus(T.sending);
    var tries = 0;
    function attempt() {
      tries++;
      post("/api/send", body).then(function (res) {
        return res.json().catch(function () { return {}; }).then(function (data) {
          return { res: res, data: data };
        });
      }).then(function (r) {
        if (r.res.status >= 500 && tries < 3) { setTimeout(attempt, 1500 * tries); return; }
        busy = false;
        if (pending) pending.remove();
        if (!r.res.ok) {
          showStatus(r.data.html ? htmlText(r.data.html) : T.failed);
          return;
        }
        showStatus("");
        if (r.data.forgotten) {
          log.textContent = "";
          lastId = 0;
          if (events) { events.close(); events = null; }
          r.data.messages.forEach(function (m) { m.id = 0; render(m); });
          scrollDown();
          return;
        }
        if (r.data.duplicate) { reload(); return; }
        renderAll(r.data.messages, true);
        listen();
      }).catch(function () {
        if (tries < 3) { setTimeout(attempt, 2000 * tries); return; }
        busy = false;
        if (pending) pending.remove();
        showStatus(T.failed, function () { send(body, shown); });
      });
    }
    attempt();
  }

  function press(payload, label) { send({ payload: payload, label: label }, label); }

  function shareLocation() {
    showStatus(T.locating);
    navigator.geolocation.getCurrentPosition(function (pos) {
      showStatus("");
      send({ location: { lat: pos.coords.latitude, lon: pos.coords.longitude } }, "📍");
    }, function () { showStatus(T.noLocation); }, { timeout: 15000, maximumAge: 600000 });
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var text = input.value.trim();
    if (!text || busy) return;
    input.value = "";
    send({ text: text }, text);
  });

  // -- messages outside the turn --------------------------------------------------------
  function markSeen() {
    if (document.visibilityState === "hidden" || !lastId) return;
    unseen = 0;
    badge.hidden = true;
    document.title = baseTitle;
    post("/api/seen", { up_to: lastId }).catch(function () { /* again next time */ });
  }

  function noteUnread() {
    unseen++;
    badge.textContent = unseen + " " + T.unread;
    badge.hidden = false;
    document.title = "(" + unseen + ") " + baseTitle;
  }

  function listen() {
    if (events || !window.EventSource) return;
    events = new EventSource("/api/events?after=" + lastId);
    events.addEventListener("message", function (e) {
      var m = JSON.parse(e.data);
      if (m.id <= lastId) return;
      renderAll([m], true);
      if (m.unread) {
        if (document.visibilityState === "hidden") noteUnread(); else markSeen();
      }
    });
    events.onopen = function () { if (status.textContent === T.offline) showStatus(""); };
    events.onerror = function () {
      if (events && events.readyState === 2) {
        events = null;
        showStatus(T.offline);
        setTimeout(listen, 5000);
      }
    };
  }

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible" && unseen) markSeen();
  });

  function reload() {
    fetch("/api/history", { credentials: "same-origin" }).then(function (r) { return r.json(); })
      .then(function (data) {
        renderAll(data.messages);
        if (!data.messages.length) { send({ start: true }, null); return; }
        if (data.unread) {
          unseen = data.unread;
          badge.textContent = unseen + " " + T.unread;
          badge.hidden = false;
          setTimeout(markSeen, 1500);
        }
        listen();
      }).catch(function () { showStatus(T.failed, reload); });
  }

  reload();
})();
