/**
 * The browser side of the viewers: plain JavaScript and CSS (no libraries, no network), embedded in every view so
 * that a view works alone in a notebook output, an exported page or a saved file. The script defines
 * window.LensViews once per page; each view then calls LensViews.<kind>(rootElement, spec).
 */

/** CSS shared by all views (scoped under .lens-view). */
export const VIEWER_CSS = `
.lens-view{position:relative;font-family:system-ui,-apple-system,"Segoe UI",sans-serif;font-size:13px;color:#222;}
.lens-view .lens-title{font-weight:600;margin:4px 0 8px;}
.lens-view .lens-grid{display:flex;flex-wrap:wrap;gap:8px;}
.lens-view .lens-thumb{margin:0;padding:4px;border:2px solid transparent;border-radius:4px;cursor:pointer;text-align:center;}
.lens-view .lens-thumb:hover{border-color:#c8d6e5;}
.lens-view .lens-thumb.lens-selected{border-color:#1f6feb;background:#eef4ff;}
.lens-view .lens-thumb canvas{display:block;image-rendering:pixelated;border:1px solid #ddd;background:#fff;}
.lens-view .lens-thumb figcaption{font-size:11px;margin-top:2px;}
.lens-view .lens-detail{margin-top:12px;}
.lens-view .lens-detail-title{font-weight:600;margin-bottom:4px;}
.lens-view .lens-tokens{margin-top:8px;line-height:2;}
.lens-view .lens-tok{white-space:pre;padding:1px 2px;margin:0 1px;border:1px solid #e3e3e3;border-radius:3px;cursor:default;}
.lens-view .lens-tok.lens-focus{outline:2px solid #1f6feb;}
.lens-view .lens-buttons{margin-bottom:6px;display:flex;flex-wrap:wrap;gap:4px;}
.lens-view .lens-buttons button{font:inherit;font-size:12px;padding:2px 8px;border:1px solid #bbb;border-radius:3px;background:#f6f6f6;cursor:pointer;}
.lens-view .lens-buttons button.lens-selected{background:#1f6feb;color:#fff;border-color:#1f6feb;}
.lens-view .lens-tip{position:absolute;z-index:10;pointer-events:none;background:rgba(30,30,30,.92);color:#fff;padding:4px 6px;border-radius:3px;font-size:12px;white-space:pre;display:none;}
.lens-view table.lens-topk{border-collapse:collapse;}
.lens-view table.lens-topk th,.lens-view table.lens-topk td{border:1px solid #ddd;padding:2px 6px;white-space:pre;}
.lens-view table.lens-topk th{background:#f3f3f3;font-weight:600;}
.lens-view table.lens-topk td .lens-val{opacity:.75;font-size:11px;margin-left:4px;}
`;

/** The JavaScript runtime (defines window.LensViews once). */
export const VIEWER_JS = String.raw`
window.LensViews = window.LensViews || (function () {
  "use strict";
  // Same colour rule as valueColor in viewers.ts (the runtime is self-contained browser JS, so it cannot import it):
  // change both together; test/lens/viz checks the two against the same RGB values.
  function color(v, s) {
    if (v === null || !isFinite(v)) return "rgb(235,235,235)";
    var t, c;
    if (s.signed) {
      var m = Math.max(Math.abs(s.lo), Math.abs(s.hi)) || 1;
      t = Math.max(-1, Math.min(1, v / m));
      c = t >= 0 ? [33, 102, 172] : [178, 24, 43];
      t = Math.abs(t);
    } else {
      t = s.hi > s.lo ? Math.max(0, Math.min(1, (v - s.lo) / (s.hi - s.lo))) : 0;
      c = [8, 48, 107];
    }
    return "rgb(" + [0, 1, 2].map(function (i) { return Math.round(255 + (c[i] - 255) * t); }).join(",") + ")";
  }
  function fmt(v) { return v === null || v === undefined ? "n/a" : Number(v).toPrecision(4); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function showTok(t) { return String(t).replace(/\n/g, "\u21b5").replace(/\t/g, "\u21e5"); }
  function tipper(root) {
    var tip = el("div", "lens-tip");
    root.appendChild(tip);
    return {
      show: function (ev, text) {
        var r = root.getBoundingClientRect();
        tip.textContent = text;
        tip.style.display = "block";
        tip.style.left = (ev.clientX - r.left + 14) + "px";
        tip.style.top = (ev.clientY - r.top + 14) + "px";
      },
      hide: function () { tip.style.display = "none"; }
    };
  }
  function cellAt(ev, canvas, rows, cols, box) {
    var r = canvas.getBoundingClientRect();
    var x = (ev.clientX - r.left) * (box.cssW / r.width) - box.left;
    var y = (ev.clientY - r.top) * (box.cssH / r.height) - box.top;
    var j = Math.floor(x / box.cell), i = Math.floor(y / box.cell);
    return i >= 0 && j >= 0 && i < rows && j < cols ? [i, j] : null;
  }
  function ink(v, s) {
    if (v === null || !isFinite(v)) return "";
    var t = s.signed ? Math.abs(v) / (Math.max(Math.abs(s.lo), Math.abs(s.hi)) || 1) : (s.hi > s.lo ? (v - s.lo) / (s.hi - s.lo) : 0);
    return t > 0.55 ? "#fff" : "";
  }
  function thumbnail(matrix, s) {
    var rows = matrix.length, cols = rows ? matrix[0].length : 0;
    var c = el("canvas");
    c.width = cols; c.height = rows;
    var size = 96, k = Math.max(1, Math.floor(size / Math.max(rows, cols, 1)));
    c.style.width = (cols * k) + "px"; c.style.height = (rows * k) + "px";
    var g = c.getContext("2d");
    for (var i = 0; i < rows; i++) for (var j = 0; j < cols; j++) { g.fillStyle = color(matrix[i][j], s); g.fillRect(j, i, 1, 1); }
    return { canvas: c, box: { left: 0, top: 0, cell: k, cssW: cols * k, cssH: rows * k } };
  }
  function bigHeatmap(matrix, tokens, s) {
    var rows = matrix.length, cols = rows ? matrix[0].length : 0;
    var cell = Math.max(6, Math.min(28, Math.floor(460 / Math.max(rows, cols, 1))));
    var font = "11px system-ui, sans-serif";
    var c = el("canvas"), g = c.getContext("2d");
    g.font = font;
    var lw = 0;
    tokens.forEach(function (t) { lw = Math.max(lw, g.measureText(showTok(t)).width); });
    lw = Math.min(lw, 160) + 8;
    var box = { left: lw, top: 4, cell: cell, cssW: lw + cols * cell + 4, cssH: 4 + rows * cell + lw };
    var dpr = window.devicePixelRatio || 1;
    c.width = Math.round(box.cssW * dpr); c.height = Math.round(box.cssH * dpr);
    c.style.width = box.cssW + "px"; c.style.height = box.cssH + "px";
    g = c.getContext("2d");
    g.scale(dpr, dpr);
    g.font = font; g.fillStyle = "#fff"; g.fillRect(0, 0, box.cssW, box.cssH);
    for (var i = 0; i < rows; i++) for (var j = 0; j < cols; j++) {
      g.fillStyle = color(matrix[i][j], s); g.fillRect(box.left + j * cell, box.top + i * cell, cell, cell);
    }
    g.fillStyle = "#333"; g.textBaseline = "middle"; g.textAlign = "right";
    for (i = 0; i < rows; i++) g.fillText(showTok(tokens[i]), box.left - 4, box.top + (i + 0.5) * cell, lw - 8);
    for (j = 0; j < cols; j++) {
      g.save(); g.translate(box.left + (j + 0.5) * cell, box.top + rows * cell + 4); g.rotate(-Math.PI / 2);
      g.fillText(showTok(tokens[j]), 0, 0, lw - 8); g.restore();
    }
    return { canvas: c, box: box };
  }
  function detail(root, tip, spec, head) {
    var d = root.querySelector(".lens-detail");
    d.textContent = "";
    d.appendChild(el("div", "lens-detail-title", head.name + "  (query/destination rows \u00d7 key/source columns)"));
    var hm = bigHeatmap(head.matrix, spec.tokens, spec.scale);
    var m = head.matrix, toks = spec.tokens;
    hm.canvas.addEventListener("mousemove", function (ev) {
      var ij = cellAt(ev, hm.canvas, m.length, m.length ? m[0].length : 0, hm.box);
      if (!ij) { tip.hide(); return; }
      tip.show(ev, head.name + "\ndestination [" + ij[0] + "] " + JSON.stringify(toks[ij[0]]) + "\nsource [" + ij[1] + "] " + JSON.stringify(toks[ij[1]]) + "\nweight " + fmt(m[ij[0]][ij[1]]));
    });
    hm.canvas.addEventListener("mouseleave", tip.hide);
    d.appendChild(hm.canvas);
    var strip = el("div", "lens-tokens");
    var spans = toks.map(function (t, i) {
      var sp = el("span", "lens-tok", showTok(t));
      sp.addEventListener("mouseenter", function () {
        spans.forEach(function (o, j) { o.style.background = j < m[i].length ? color(m[i][j], spec.scale) : ""; o.style.color = j < m[i].length ? ink(m[i][j], spec.scale) : ""; o.classList.toggle("lens-focus", j === i); });
      });
      sp.addEventListener("mouseleave", function () { spans.forEach(function (o) { o.style.background = ""; o.style.color = ""; o.classList.remove("lens-focus"); }); });
      strip.appendChild(sp);
      return sp;
    });
    d.appendChild(el("div", "lens-hint", "Hover a token to colour the tokens it attends to (as destination)."));
    d.appendChild(strip);
    root.setAttribute("data-selected", head.name);
  }
  function attentionHeads(root, spec) {
    var tip = tipper(root);
    if (spec.title) root.appendChild(el("div", "lens-title", spec.title));
    var grid = el("div", "lens-grid");
    root.appendChild(grid);
    root.appendChild(el("div", "lens-detail"));
    var thumbs = spec.heads.map(function (h, k) {
      var f = el("figure", "lens-thumb");
      var t = thumbnail(h.matrix, spec.scale);
      f.appendChild(t.canvas);
      f.appendChild(el("figcaption", "", h.name));
      f.setAttribute("data-head", h.name);
      f.addEventListener("click", function () {
        thumbs.forEach(function (o, j) { o.classList.toggle("lens-selected", j === k); });
        detail(root, tip, spec, h);
      });
      t.canvas.addEventListener("mousemove", function (ev) {
        var ij = cellAt(ev, t.canvas, h.matrix.length, h.matrix.length ? h.matrix[0].length : 0, t.box);
        if (!ij) { tip.hide(); return; }
        tip.show(ev, h.name + " (click to enlarge)\n" + JSON.stringify(spec.tokens[ij[0]]) + " \u2190 " + JSON.stringify(spec.tokens[ij[1]]) + "\nweight " + fmt(h.matrix[ij[0]][ij[1]]));
      });
      t.canvas.addEventListener("mouseleave", tip.hide);
      grid.appendChild(f);
      return f;
    });
    if (thumbs.length) { thumbs[0].classList.add("lens-selected"); detail(root, tip, spec, spec.heads[0]); }
  }
  function attentionPattern(root, spec) {
    var tip = tipper(root);
    if (spec.title) root.appendChild(el("div", "lens-title", spec.title));
    root.appendChild(el("div", "lens-detail"));
    detail(root, tip, spec, spec.heads[0]);
  }
  function coloredTokens(root, spec) {
    var tip = tipper(root);
    if (spec.title) root.appendChild(el("div", "lens-title", spec.title));
    var sel = 0, buttons = [];
    if (spec.names.length > 1) {
      var bar = el("div", "lens-buttons");
      spec.names.forEach(function (n, k) {
        var b = el("button", k === 0 ? "lens-selected" : "", n);
        b.type = "button";
        b.addEventListener("click", function () { sel = k; paint(); });
        bar.appendChild(b); buttons.push(b);
      });
      root.appendChild(bar);
    }
    var strip = el("div", "lens-tokens");
    root.appendChild(strip);
    var spans = spec.tokens.map(function (t, i) {
      var sp = el("span", "lens-tok", showTok(t));
      sp.addEventListener("mousemove", function (ev) {
        var lines = ["[" + i + "] " + JSON.stringify(t)];
        spec.names.forEach(function (n, k) { lines.push((k === sel && spec.names.length > 1 ? "\u25b8 " : "") + n + ": " + fmt(spec.values[i][k])); });
        tip.show(ev, lines.join("\n"));
      });
      sp.addEventListener("mouseleave", tip.hide);
      strip.appendChild(sp);
      return sp;
    });
    function paint() {
      buttons.forEach(function (b, k) { b.classList.toggle("lens-selected", k === sel); });
      spans.forEach(function (sp, i) { sp.style.background = color(spec.values[i][sel], spec.scales[sel]); sp.style.color = ink(spec.values[i][sel], spec.scales[sel]); });
      root.setAttribute("data-selected", spec.names[sel]);
    }
    paint();
  }
  return { attentionHeads: attentionHeads, attentionPattern: attentionPattern, coloredTokens: coloredTokens, color: color };
})();
`;
