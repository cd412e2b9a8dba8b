/* loadgen's interactive charts (live page and report): uPlot charts sharing one cursor and
   one zoom. Drag across a chart to zoom every chart to that time range; double-click to zoom
   out; click a legend entry to hide or show its series; hover to read each interval's values.
   Data: {charts: [{id, title, unit, series: [{key, label, color}]}], columns: {key: [..]},
   events: [{t, label, kind}]} (loadgen.report.livedata). No network, no dependency but uPlot. */
(function () {
  "use strict";
  var ERR = "err.";
  var ERR_COLORS = ["#dc2626", "#ea580c", "#d97706", "#7c3aed", "#db2777", "#0891b2",
                    "#65a30d", "#4b5563", "#b91c1c", "#9333ea", "#0d9488"];

  function fmt(v) {
    if (v == null) return "–";
    var a = Math.abs(v);
    return a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : v.toFixed(2);
  }

  var NAME_COLORS = ["#2563eb", "#ea580c", "#16a34a", "#9333ea", "#db2777", "#0891b2",
                     "#ca8a04", "#4b5563", "#9ca3af"];

  /* A chart's series: its own; the error kinds seen (errors); the request names' columns
     under its prefix (per-name charts: p95 shown, p50/p99 a legend click away); and a
     series for each limit line on it that none of these draws (ttft.p99.9). */
  function seriesOf(chart, cols, limits) {
    var keys = Object.keys(cols), out;
    var limited = limits.filter(function (l) { return l.chart === chart.id; })
      .map(function (l) { return l.key; });
    if (chart.id === "errors") {
      out = keys.filter(function (k) { return k.indexOf(ERR) === 0; }).sort()
        .map(function (k, i) {
          return {key: k, label: k.slice(ERR.length), color: ERR_COLORS[i % ERR_COLORS.length]};
        });
    } else if (chart.prefix) {
      var names = keys.filter(function (k) { return k.indexOf("n.rps|") === 0; })
        .map(function (k) { return k.slice(6); }).sort(); // one colour per name on every chart
      out = keys.filter(function (k) { return k.indexOf(chart.prefix) === 0; })
        .sort(function (a, b) {
          var x = nameOf(a) + "\u0000" + a, y = nameOf(b) + "\u0000" + b;
          return x < y ? -1 : x > y ? 1 : 0;
        })
        .map(function (k) {
          var name = nameOf(k), stat = k.slice(chart.prefix.length, k.indexOf("|"));
          var i = names.indexOf(name);
          return {key: k, label: stat ? name + " " + stat : name,
                  color: NAME_COLORS[(i < 0 ? 0 : i) % NAME_COLORS.length],
                  dash: stat === "p50" ? [2, 3] : stat === "p99" ? [8, 3] : null,
                  show: !stat || stat === "p95" || limited.indexOf(k) >= 0};
        });
    } else {
      out = chart.series.slice();
    }
    limited.forEach(function (k) {
      var drawn = out.some(function (s) { return s.key === k; });
      if (!drawn && cols[k]) out.push({key: k, label: k.split(".").slice(1).join("."), color: "#b91c1c"});
    });
    return out;
  }

  function nameOf(key) { return key.slice(key.indexOf("|") + 1); }

  function Board(root, data) {
    this.root = root;
    this.cols = data.columns || {};
    this.events = data.events || [];
    this.limits = data.limits || [];
    this.specs = data.charts;
    this.plots = {};
    this.zoomed = null; // [min, max] while zoomed
    this.syncing = false;
    var self = this;
    this.specs.forEach(function (spec) { // every figure first: each chart then takes its width
      var fig = document.createElement("figure");
      fig.className = "lg-chart";
      fig.id = "lg-chart-" + spec.id;
      root.appendChild(fig);
    });
    this.specs.forEach(function (spec) { self.build(spec); });
    window.addEventListener("resize", function () {
      Object.keys(self.plots).forEach(function (id) {
        var u = self.plots[id];
        u.setSize(self.size(u.root.parentNode));
      });
    });
  }

  Board.prototype.size = function (fig) {
    var w = Math.max(300, (fig.clientWidth || this.root.clientWidth || 900) - 4);
    return {width: w, height: 220};
  };

  Board.prototype.arrays = function (series) {
    var t = this.cols.t || [];
    var out = [t];
    series.forEach(function (s) {
      var col = this.cols[s.key];
      out.push(col ? col : t.map(function () { return null; }));
    }, this);
    return out;
  };

  Board.prototype.build = function (spec) {
    var self = this;
    var fig = document.getElementById("lg-chart-" + spec.id);
    var series = seriesOf(spec, this.cols, this.limits);
    if (this.plots[spec.id]) this.plots[spec.id].destroy();
    delete this.plots[spec.id];
    fig.innerHTML = "";
    if (!series.length) { // the errors chart before the first error
      fig.appendChild(document.createElement("p")).className = "note lg-empty";
      fig.lastChild.textContent = spec.title + ": none so far";
      return null;
    }
    var opts = {
      title: spec.title + (spec.unit ? " (" + spec.unit + ")" : ""),
      width: this.size(fig).width,
      height: 220,
      cursor: {sync: {key: "lg", setSeries: false}, drag: {x: true, y: false}},
      scales: {x: {time: false}, y: {range: function (u, min, max) { return self.range(spec, min, max); }}},
      axes: [
        {label: "s into the run", values: function (u, ticks) { return ticks.map(function (v) { return v + "s"; }); }},
        {values: function (u, ticks) { return ticks.map(fmt); }, size: 56},
      ],
      series: [{label: "t", value: function (u, v) { return v == null ? "–" : v.toFixed(1) + " s"; }}]
        .concat(series.map(function (s) {
          return {label: s.label, stroke: s.color, width: 1.5, spanGaps: false,
                  dash: s.dash || undefined, show: s.show !== false,
                  value: function (u, v) { return fmt(v); }};
        })),
      hooks: {
        setScale: [function (u, key) { if (key === "x") self.zoomAll(u); }],
        draw: [function (u) { self.drawEvents(u); }],
      },
    };
    var u = new uPlot(opts, this.arrays(series), fig);
    u.lgKeys = series.map(function (s) { return s.key; });
    u.lgId = spec.id;
    this.plots[spec.id] = u;
    if (this.zoomed) u.setScale("x", {min: this.zoomed[0], max: this.zoomed[1]});
    return u;
  };

  Board.prototype.zoomAll = function (src) {
    if (this.syncing) return;
    var t = this.cols.t || [];
    var min = src.scales.x.min, max = src.scales.x.max;
    var full = !t.length || (min <= t[0] && max >= t[t.length - 1]);
    this.zoomed = full ? null : [min, max];
    this.syncing = true;
    var self = this;
    Object.keys(this.plots).forEach(function (id) {
      var u = self.plots[id];
      if (u !== src) u.setScale("x", {min: min, max: max});
    });
    this.syncing = false;
  };

  /* The y range: from 0 (or below) to the data's top, raised to show any limit line. */
  Board.prototype.range = function (spec, min, max) {
    var top = max == null ? 1 : max;
    this.limits.forEach(function (l) { if (l.chart === spec.id) top = Math.max(top, l.value); });
    var low = Math.min(0, min == null ? 0 : min);
    if (top <= low) top = low + 1;
    return [low, top * 1.05];
  };

  Board.prototype.drawEvents = function (u) {
    var ctx = u.ctx, top = u.bbox.top, h = u.bbox.height;
    var left = u.bbox.left, w = u.bbox.width, dpr = devicePixelRatio;
    ctx.save();
    ctx.font = Math.round(10 * dpr) + "px system-ui, sans-serif";
    this.limits.forEach(function (l) {
      if (l.chart !== u.lgId) return;
      var y = Math.round(u.valToPos(l.value, "y", true));
      ctx.strokeStyle = ctx.fillStyle = "#dc2626";
      ctx.setLineDash([6, 3]);
      ctx.beginPath();
      ctx.moveTo(left, y);
      ctx.lineTo(left + w, y);
      ctx.stroke();
      ctx.textAlign = "right";
      ctx.fillText(l.label, left + w - 4 * dpr, y - 3 * dpr);
      ctx.textAlign = "left";
    });
    this.events.forEach(function (e) {
      if (e.t < u.scales.x.min || e.t > u.scales.x.max) return;
      var x = Math.round(u.valToPos(e.t, "x", true));
      ctx.strokeStyle = e.kind === "control" ? "#c026d3" : "#9ca3af";
      ctx.fillStyle = ctx.strokeStyle;
      ctx.setLineDash(e.kind === "control" ? [] : [4, 4]);
      ctx.beginPath();
      ctx.moveTo(x, top);
      ctx.lineTo(x, top + h);
      ctx.stroke();
      if (e.kind === "control") ctx.fillText(e.label, x + 3, top + 12 * dpr);
    });
    ctx.restore();
  };

  /* Append one point (live page): keys new to the columns are back-filled with nulls. */
  Board.prototype.push = function (p) {
    var n = (this.cols.t || []).length, cols = this.cols, self = this, rebuild = false;
    Object.keys(p).forEach(function (k) {
      if (!cols[k]) {
        cols[k] = [];
        for (var i = 0; i < n; i++) cols[k].push(null);
        if (k.indexOf(ERR) === 0 || k.indexOf("n.") === 0) rebuild = true;
      }
    });
    Object.keys(cols).forEach(function (k) { cols[k].push(p[k] === undefined ? null : p[k]); });
    this.specs.forEach(function (spec) {
      var u = self.plots[spec.id];
      if (rebuild && (spec.id === "errors" || spec.prefix)) { self.build(spec); return; }
      if (!u) return;
      u.setData(self.arrays(u.lgKeys.map(function (k) { return {key: k}; })), !self.zoomed);
    });
  };

  Board.prototype.addEvent = function (e) {
    this.events.push(e);
    var plots = this.plots;
    Object.keys(plots).forEach(function (id) { plots[id].redraw(false); });
  };

  Board.prototype.points = function () { return (this.cols.t || []).length; };

  /* Every chart drawn inside its own figure and no wider (what a test checks). */
  Board.prototype.laidOut = function () {
    var plots = this.plots;
    return Object.keys(plots).every(function (id) {
      var u = plots[id], fig = u.root.parentNode;
      return fig && fig.id === "lg-chart-" + id && u.width <= fig.clientWidth;
    });
  };

  window.LG = {
    Board: Board,
    fmt: fmt,
    /* The report: charts in place of the static SVGs of "Over time" (kept for print and
       for readers without JavaScript). */
    report: function () {
      var island = document.getElementById("lg-data");
      var section = document.getElementById("over-time");
      if (!island || !section || typeof uPlot === "undefined") return;
      var root = document.createElement("div");
      root.id = "lg-explore";
      var help = document.createElement("p");
      help.className = "note lg-help";
      help.textContent = "Interactive: hover for each interval's values; drag to zoom every " +
        "chart to a time range, double-click to zoom out; click a legend entry to hide it.";
      var first = section.querySelector("figure");
      section.insertBefore(help, first);
      section.insertBefore(root, first);
      section.classList.add("lg-on");
      window.lgBoard = new Board(root, JSON.parse(island.textContent));
    },
  };
})();
