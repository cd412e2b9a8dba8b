/* loadgen's live page: one WebSocket to the server that served this page; each message
   either replaces the whole state (init: on connect and reconnect) or adds one point, one
   event or a reply to a control request. Server text goes into the page as text, never as
   markup. */
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("lg-config").textContent);
  var live = window.lgLive = {board: null, status: null, control: null, messages: 0, inits: 0,
                              socket: null};
  var $ = function (id) { return document.getElementById(id); };

  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text != null) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  }

  function table(columns, rows, render) {
    var t = el("table", null, "lg"), head = el("tr");
    columns.forEach(function (c) { head.appendChild(el("th", c)); });
    t.appendChild(el("thead")).appendChild(head);
    var body = t.appendChild(el("tbody"));
    rows.forEach(function (r) { body.appendChild(render(r)); });
    return t;
  }

  function setState(state, verdict) {
    var s = $("lg-state");
    var shown = state === "finished" && verdict ? verdict : state;
    s.textContent = shown;
    s.className = "state " + (verdict === "failed" ? "failed" : state);
  }

  function showStatus(st) {
    live.status = st;
    setState(st.state, st.verdict);
    var totals = $("lg-totals");
    totals.innerHTML = "";
    Object.keys(st.totals || {}).forEach(function (k) {
      var span = el("span", k + " ");
      span.appendChild(el("b", st.totals[k]));
      totals.appendChild(span);
    });
    if (st.in_flight != null) {
      var f = el("span", "in flight ");
      f.appendChild(el("b", String(st.in_flight)));
      totals.appendChild(f);
    }
    var checks = $("lg-checks");
    checks.innerHTML = "";
    if ((st.checks || []).length) {
      checks.appendChild(table(["", "kind", "check", "now", "limit"], st.checks, function (c) {
        var tr = el("tr");
        var mark = c.ok === null ? "…" : c.ok ? "PASS" : "FAIL";
        tr.appendChild(el("td", mark, "pill " + (c.ok === null ? "wait" : c.ok ? "ok" : "bad")));
        [c.kind, c.expr, c.value, c.limit].forEach(function (v) { tr.appendChild(el("td", v)); });
        return tr;
      })).className = "lg checks";
    } else checks.appendChild(el("p", "none declared", "note"));
    var health = $("lg-health");
    health.hidden = !(st.health || []).length;
    health.innerHTML = "";
    if (!health.hidden) {
      health.appendChild(el("strong", "Generator health"));
      var ul = health.appendChild(el("ul"));
      st.health.forEach(function (w) { ul.appendChild(el("li", w)); });
    }
    if ((st.tables || []).length) {
      var tables = $("lg-tables");
      tables.innerHTML = "";
      st.tables.forEach(function (t) {
        var wrap = tables.appendChild(el("div", null, "tablewrap"));
        wrap.id = "lg-table-" + t.id;
        var tbl = wrap.appendChild(table(t.columns, t.rows, function (r) {
          var tr = el("tr");
          r.forEach(function (v) { tr.appendChild(el("td", v)); });
          return tr;
        }));
        var groups = el("tr");
        (t.groups || []).forEach(function (g) {
          var th = groups.appendChild(el("th", g[0]));
          th.colSpan = g[1];
          th.style.textAlign = "center";
        });
        tbl.tHead.insertBefore(groups, tbl.tHead.firstChild);
      });
    }
    var bp = st.breakpoint;
    $("lg-bp-section").hidden = !bp;
    if (bp) {
      $("lg-bp-summary").textContent = bp.summary;
      $("lg-bp").innerHTML = "";
      $("lg-bp").appendChild(table(bp.columns, bp.rows, function (r) {
        var tr = el("tr");
        r.forEach(function (v) { tr.appendChild(el("td", v)); });
        return tr;
      }));
    }
    if (st.held != null) $("lg-msg").textContent = "holding at " + st.held;
  }

  function showControl(control, unit) {
    live.control = control;
    var section = $("lg-control-section");
    section.hidden = !control || !(control.stop || control.hold);
    if (section.hidden) return;
    ["lg-level", "lg-hold", "lg-resume", "lg-level-label"].forEach(function (id) {
      $(id).hidden = !control.hold;
    });
    $("lg-level-label").textContent = unit === "rate" ? "hold at (arrivals/s)" : "hold at (users)";
    $("lg-control-note").textContent = control.note || "";
  }

  function send(request) {
    if (!live.socket || live.socket.readyState !== 1) {
      $("lg-msg").textContent = "not connected";
      return;
    }
    live.socket.send(JSON.stringify(request));
  }

  $("lg-stop").addEventListener("click", function () { send({action: "stop"}); });
  $("lg-resume").addEventListener("click", function () { send({action: "resume"}); });
  $("lg-hold").addEventListener("click", function () {
    send({action: "hold", value: parseFloat($("lg-level").value)});
  });

  function onMessage(msg) {
    live.messages += 1;
    if (msg.type === "init") {
      live.inits += 1;
      $("lg-board").innerHTML = "";
      $("lg-name").textContent = msg.data.name;
      document.title = "loadgen live: " + msg.data.name;
      live.board = new LG.Board($("lg-board"), msg.data);
      showControl(msg.control, msg.data.unit);
      showStatus(msg.status);
    } else if (msg.type === "point") {
      live.board.push(msg.point);
      if (!live.status || live.status.state !== "finished") showStatus(msg.status);
    } else if (msg.type === "event") {
      live.board.addEvent(msg.event);
    } else if (msg.type === "status") {
      showStatus(msg.status);
    } else if (msg.type === "done") {
      $("lg-msg").textContent = "done: " + msg.event.action +
        (msg.event.value != null ? " " + msg.event.value : "") +
        (msg.event.t != null ? " at " + msg.event.t + " s" : "");
    } else if (msg.type === "refused") {
      $("lg-msg").textContent = "refused: " + msg.message;
    }
  }

  var wait = 500;
  function connect() {
    var ws = new WebSocket("ws://" + location.host + "/ws?token=" + encodeURIComponent(config.token));
    live.socket = ws;
    ws.onopen = function () { wait = 500; };
    ws.onmessage = function (e) { onMessage(JSON.parse(e.data)); };
    ws.onclose = function () {
      if (!live.status || live.status.state !== "finished") setState("disconnected");
      setTimeout(connect, wait);
      wait = Math.min(5000, wait * 2);
    };
  }
  connect();
})();
