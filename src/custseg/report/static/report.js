// custseg report: hover tooltip for the segment map and "Copy table". No network, no libraries.
(function () {
  "use strict";

  function formatNumber(v) {
    if (typeof v !== "number" || !isFinite(v)) return "–";
    var digits = Math.abs(v) >= 1000 ? 0 : Math.abs(v) >= 1 ? 1 : 3;
    return v.toLocaleString("en-US", { maximumFractionDigits: digits });
  }

  function withUnit(text, unit) {
    if (!unit) return text;
    if (["$", "€", "£", "¥"].indexOf(unit) >= 0) return unit + text;
    return text + "\u00a0" + unit;
  }

  function setUpMap() {
    var holder = document.getElementById("segment-map");
    var dataNode = document.getElementById("map-data");
    var tip = document.getElementById("map-tooltip");
    if (!holder || !dataNode || !tip) return;
    var svg = holder.querySelector("svg");
    if (!svg) return;
    var data = JSON.parse(dataNode.textContent);
    var ring = document.createElementNS(svg.namespaceURI, "circle");
    ring.setAttribute("r", "6");
    ring.setAttribute("fill", "none");
    ring.setAttribute("stroke", "#000");
    ring.setAttribute("stroke-width", "2");
    ring.setAttribute("visibility", "hidden");
    ring.setAttribute("pointer-events", "none");
    svg.appendChild(ring);

    function nearest(x, y) {
      var best = -1, bestD = 64; // within 8 SVG units
      for (var i = 0; i < data.pos.length; i++) {
        var dx = data.pos[i][0] - x, dy = data.pos[i][1] - y, d = dx * dx + dy * dy;
        if (d < bestD) { bestD = d; best = i; }
      }
      return best;
    }

    function hide() {
      tip.hidden = true;
      ring.setAttribute("visibility", "hidden");
    }

    function show(i, clientX, clientY) {
      var lines = [data.idColumn + ": " + data.ids[i],
                   "segment " + data.segment[i] + ": " + data.names[String(data.segment[i])]];
      data.features.forEach(function (f) {
        lines.push(f.name + ": " + withUnit(formatNumber(f.values[i]), f.unit));
      });
      tip.textContent = lines.join("\n"); // text, never HTML: ids and names come from the data
      tip.hidden = false;
      var left = clientX + 14, top = clientY + 14;
      var box = tip.getBoundingClientRect();
      if (left + box.width > window.innerWidth) left = clientX - box.width - 14;
      if (top + box.height > window.innerHeight) top = clientY - box.height - 14;
      tip.style.left = left + "px";
      tip.style.top = top + "px";
      ring.setAttribute("cx", String(data.pos[i][0]));
      ring.setAttribute("cy", String(data.pos[i][1]));
      ring.setAttribute("visibility", "visible");
    }

    svg.addEventListener("mousemove", function (ev) {
      var ctm = svg.getScreenCTM();
      if (!ctm) return;
      var pt = svg.createSVGPoint();
      pt.x = ev.clientX;
      pt.y = ev.clientY;
      var p = pt.matrixTransform(ctm.inverse());
      var i = nearest(p.x, p.y);
      if (i < 0) hide(); else show(i, ev.clientX, ev.clientY);
    });
    svg.addEventListener("mouseleave", hide);
  }

  function tableText(table) {
    return Array.prototype.map.call(table.rows, function (row) {
      return Array.prototype.map.call(row.cells, function (cell) {
        return cell.textContent.replace(/\s+/g, " ").trim();
      }).join("\t");
    }).join("\n");
  }

  function setUpCopy() {
    document.querySelectorAll("button[data-copy-table]").forEach(function (button) {
      button.addEventListener("click", function () {
        var table = document.getElementById(button.getAttribute("data-copy-table"));
        var status = button.parentNode.querySelector(".copy-status");
        if (!table) return;
        function selectTable() {
          // Fallback where the clipboard API is not allowed: select it for Ctrl+C.
          var range = document.createRange();
          range.selectNode(table);
          var sel = window.getSelection();
          sel.removeAllRanges();
          sel.addRange(range);
          if (status) status.textContent = "Table selected: press Ctrl+C (⌘C) to copy.";
        }
        if (navigator.clipboard && navigator.clipboard.writeText) {
          navigator.clipboard.writeText(tableText(table)).then(function () {
            if (status) status.textContent = "Copied (tab-separated, pastes into a spreadsheet).";
          }, selectTable);
        } else {
          selectTable();
        }
      });
    });
  }

  // Printed reports show every feature of every card, folded or not.
  window.addEventListener("beforeprint", function () {
    document.querySelectorAll("details.more-features").forEach(function (d) {
      d.open = true;
    });
  });

  setUpMap();
  setUpCopy();
})();
