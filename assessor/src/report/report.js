// The report's script. Builds the findings table from the embedded JSON,
// filters and sorts it, and sorts the server-rendered tables.
// Safety rule: data only ever reaches the page through textContent, element
// attributes set by name, or select/input values; it is never parsed as HTML.
(function () {
  'use strict';

  var PAGE = 200;
  // Source lines shown either side of a finding (the excerpts hold these).
  var CONTEXT = 3;
  var LABELS = {
    not_supported: 'Not supported', review_manually: 'Review manually',
    review_semantics: 'Review semantics', review_performance: 'Review performance',
    ignored: 'Ignored', supported: 'Supported'
  };
  var COMPLEXITY = ['Low', 'Medium', 'High'];
  var SORT_KEYS = ['status', 'feature', 'object', 'file', 'complexity', 'effort'];

  var data = JSON.parse(document.getElementById('report-data').textContent);
  var F_FILE = 0, F_LINE = 1, F_COL = 2, F_OBJ = 3, F_FEAT = 4, F_STATUS = 5, F_CPLX = 6, F_EFFORT = 7, F_SNIP = 8;

  var state = { status: '', feature: '', object: '', q: '', sort: 'status', dir: 1, shown: PAGE };
  var rows = [];
  var haystacks = null;

  var body = document.getElementById('findings-body');
  var countEl = document.getElementById('findings-count');
  var moreBtn = document.getElementById('more');
  var selStatus = document.getElementById('f-status');
  var selFeature = document.getElementById('f-feature');
  var inObject = document.getElementById('f-object');
  var inQ = document.getElementById('f-q');

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }

  function fmt(n) { return Number(n).toLocaleString('en-US'); }

  function objectName(f) { return data.objects[f[F_OBJ]][0]; }
  function feature(f) { return data.features[f[F_FEAT]]; }

  function indexOf(list, value, pick) {
    for (var i = 0; i < list.length; i++) {
      if ((pick ? list[i][0] : list[i]) === value) { return i; }
    }
    return -1;
  }

  // Filters and sort order live in the fragment:
  // #status=…&feature=…&object=…&q=…&sort=<key>&dir=desc
  function readHash() {
    var h = location.hash.replace(/^#/, '');
    if (h.indexOf('=') < 0) { return false; }
    var p = new URLSearchParams(h);
    var st = p.get('status') || '';
    state.status = indexOf(data.statuses, st, false) >= 0 ? st : '';
    var fe = p.get('feature') || '';
    state.feature = indexOf(data.features, fe, true) >= 0 ? fe : '';
    state.object = p.get('object') || '';
    state.q = p.get('q') || '';
    var sort = p.get('sort') || 'status';
    state.sort = SORT_KEYS.indexOf(sort) >= 0 ? sort : 'status';
    state.dir = p.get('dir') === 'desc' ? -1 : 1;
    state.shown = PAGE;
    return true;
  }

  function writeHash() {
    var p = new URLSearchParams();
    if (state.status) { p.set('status', state.status); }
    if (state.feature) { p.set('feature', state.feature); }
    if (state.object) { p.set('object', state.object); }
    if (state.q) { p.set('q', state.q); }
    if (state.sort !== 'status') { p.set('sort', state.sort); }
    if (state.dir < 0) { p.set('dir', 'desc'); }
    var s = p.toString();
    var url = location.pathname + location.search + (s ? '#' + s : '');
    try { history.replaceState(null, '', url); } catch (e) { /* file: URL limits: keep the page as is */ }
  }

  function syncControls() {
    selStatus.value = state.status;
    selFeature.value = state.feature;
    inObject.value = state.object;
    inQ.value = state.q;
  }

  function haystack(i) {
    if (!haystacks) { haystacks = new Array(data.findings.length); }
    if (haystacks[i] === undefined) {
      var f = data.findings[i];
      var ft = feature(f);
      haystacks[i] = [data.files[f[F_FILE]], objectName(f), ft[0], ft[1], ft[2], f[F_SNIP]].join('\n').toLowerCase();
    }
    return haystacks[i];
  }

  function compute() {
    var st = state.status ? indexOf(data.statuses, state.status, false) : -1;
    var fe = state.feature ? indexOf(data.features, state.feature, true) : -1;
    // An object filter names one object exactly (cross-reference links) or
    // is typed in part, which matches as a case-insensitive substring.
    var ob = state.object;
    var exact = ob !== '' && data.objects.some(function (o) { return o[0] === ob; });
    var obLower = ob.toLowerCase();
    var q = state.q.toLowerCase();
    rows = [];
    for (var i = 0; i < data.findings.length; i++) {
      var f = data.findings[i];
      if (st >= 0 && f[F_STATUS] !== st) { continue; }
      if (fe >= 0 && f[F_FEAT] !== fe) { continue; }
      if (ob && (exact ? objectName(f) !== ob : objectName(f).toLowerCase().indexOf(obLower) < 0)) { continue; }
      if (q && haystack(i).indexOf(q) < 0) { continue; }
      rows.push(i);
    }
    sortRows();
  }

  function location3(f) { return [data.files[f[F_FILE]], f[F_LINE], f[F_COL]]; }

  function cmp(a, b) { return a < b ? -1 : a > b ? 1 : 0; }

  function sortKey(i) {
    var f = data.findings[i];
    switch (state.sort) {
      case 'feature': return [feature(f)[1].toLowerCase()];
      case 'object': return [objectName(f).toLowerCase()];
      case 'file': return location3(f);
      case 'complexity': return [-f[F_CPLX]];
      case 'effort': return [-f[F_EFFORT]];
      default: return [f[F_STATUS]];
    }
  }

  function sortRows() {
    var keyed = rows.map(function (i) { return { i: i, k: sortKey(i), l: location3(data.findings[i]) }; });
    keyed.sort(function (a, b) {
      for (var j = 0; j < a.k.length; j++) {
        var c = cmp(a.k[j], b.k[j]);
        if (c) { return c * state.dir; }
      }
      for (var m = 0; m < 3; m++) {
        var d = cmp(a.l[m], b.l[m]);
        if (d) { return d; }
      }
      return a.i - b.i;
    });
    rows = keyed.map(function (x) { return x.i; });
  }

  // A path that may wrap after each '/' and nowhere else.
  function pathCell(text) {
    var td = el('td', 'path');
    var parts = text.split('/');
    for (var i = 0; i < parts.length; i++) {
      td.appendChild(document.createTextNode(i < parts.length - 1 ? parts[i] + '/' : parts[i]));
      if (i < parts.length - 1) { td.appendChild(document.createElement('wbr')); }
    }
    return td;
  }

  function filterLink(key, value, text, cls) {
    var a = el('a', cls, text);
    var p = new URLSearchParams();
    p.set(key, value);
    a.setAttribute('href', '#' + p.toString());
    return a;
  }

  // Characters a construct's first token is made of, for the highlight.
  var TOKEN = /[A-Za-z0-9_@#$.\[\]"]/;

  // The finding's line, its construct marked from the finding's column to
  // the end of the token there.
  function markedLine(text, column) {
    var chars = Array.from(text);
    var i = Math.max(0, Math.min(column - 1, chars.length));
    var j = i;
    while (j < chars.length && TOKEN.test(chars[j])) { j++; }
    if (j === i && j < chars.length) { j++; }
    var tx = el('span', 'tx');
    tx.appendChild(document.createTextNode(chars.slice(0, i).join('')));
    tx.appendChild(el('mark', null, chars.slice(i, j).join('')));
    tx.appendChild(document.createTextNode(chars.slice(j).join('')));
    return tx;
  }

  // The source around a finding, numbered, its line highlighted; null when
  // the report carries no excerpt for it (the snippet is shown instead).
  function sourceAround(f) {
    var blocks = data.excerpts[f[F_FILE]] || [];
    var line = f[F_LINE];
    for (var b = 0; b < blocks.length; b++) {
      var first = blocks[b][0], lines = blocks[b][1];
      if (line < first || line >= first + lines.length) { continue; }
      var from = Math.max(first, line - CONTEXT), to = Math.min(first + lines.length - 1, line + CONTEXT);
      var pre = el('pre', 'code source');
      for (var n = from; n <= to; n++) {
        var row = el('span', n === line ? 'src hit' : 'src');
        row.appendChild(el('span', 'ln', n));
        row.appendChild(n === line ? markedLine(lines[n - first], f[F_COL]) : el('span', 'tx', lines[n - first]));
        pre.appendChild(row);
      }
      return pre;
    }
    return null;
  }

  function detailRow(i) {
    var f = data.findings[i];
    var ft = feature(f);
    var tr = el('tr', 'detail');
    var td = el('td');
    td.setAttribute('colspan', '6');
    var box = el('div', 'detail');
    box.appendChild(el('h4', null, ft[1]));
    box.appendChild(el('p', 'loc', data.files[f[F_FILE]] + ', line ' + f[F_LINE] + ', column ' + f[F_COL] +
      ' \u2014 ' + objectName(f) + ' (' + data.objects[f[F_OBJ]][1] + ')'));
    var source = sourceAround(f);
    if (source) {
      box.appendChild(source);
    } else {
      var pre = el('pre', 'code');
      pre.appendChild(el('code', null, f[F_SNIP]));
      box.appendChild(pre);
    }
    if (ft[3]) {
      var p = el('p');
      p.appendChild(el('strong', null, 'Remediation. '));
      p.appendChild(document.createTextNode(ft[3]));
      box.appendChild(p);
    }
    if (ft[4]) {
      var rw = el('div', 'rewrite');
      rw.appendChild(el('p', 'rw-l', 'Before'));
      rw.appendChild(el('pre', 'code', ft[4]));
      rw.appendChild(el('p', 'rw-l', 'After (runs on the target)'));
      rw.appendChild(el('pre', 'code', ft[5]));
      box.appendChild(rw);
    }
    var meta = el('p', 'loc', 'Feature ' + ft[0] + ' \u00b7 group ' + ft[2] + ' \u00b7 complexity ' +
      data.complexities[f[F_CPLX]] + ' \u00b7 ' + f[F_EFFORT] + ' min');
    box.appendChild(meta);
    td.appendChild(box);
    tr.appendChild(td);
    return tr;
  }

  function toggle(tr, i) {
    var next = tr.nextSibling;
    if (next && next.className === 'detail') {
      body.removeChild(next);
      tr.classList.remove('open');
      tr.setAttribute('aria-expanded', 'false');
    } else {
      body.insertBefore(detailRow(i), next);
      tr.classList.add('open');
      tr.setAttribute('aria-expanded', 'true');
    }
  }

  function findingRow(i) {
    var f = data.findings[i];
    var st = data.statuses[f[F_STATUS]];
    var ft = feature(f);
    var tr = el('tr', 'finding-row');
    tr.setAttribute('data-status', st);
    tr.setAttribute('tabindex', '0');
    tr.setAttribute('aria-expanded', 'false');

    var c1 = el('td');
    c1.appendChild(el('span', 'badge st-' + st, LABELS[st] || st));
    tr.appendChild(c1);

    var c2 = el('td');
    c2.appendChild(filterLink('feature', ft[0], ft[1], 'ftitle'));
    c2.appendChild(document.createTextNode(' '));
    c2.appendChild(el('code', 'fid', ft[0]));
    tr.appendChild(c2);

    var c3 = el('td', 'obj');
    c3.appendChild(filterLink('object', objectName(f), objectName(f), null));
    tr.appendChild(c3);

    tr.appendChild(pathCell(data.files[f[F_FILE]] + ':' + f[F_LINE] + ':' + f[F_COL]));
    tr.appendChild(el('td', null, COMPLEXITY[f[F_CPLX]]));
    tr.appendChild(el('td', 'num', fmt(f[F_EFFORT])));

    tr.addEventListener('click', function (ev) {
      if (ev.target.closest && ev.target.closest('a')) { return; }
      toggle(tr, i);
    });
    tr.addEventListener('keydown', function (ev) {
      if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); toggle(tr, i); }
    });
    return tr;
  }

  // `expanded`: every row shown with its detail open (for printing).
  function render(expanded) {
    body.replaceChildren();
    var n = Math.min(state.shown, rows.length);
    var frag = document.createDocumentFragment();
    for (var k = 0; k < n; k++) {
      var tr = findingRow(rows[k]);
      frag.appendChild(tr);
      if (expanded) {
        tr.classList.add('open');
        tr.setAttribute('aria-expanded', 'true');
        frag.appendChild(detailRow(rows[k]));
      }
    }
    body.appendChild(frag);
    var total = data.findings.length;
    var text;
    if (rows.length === 0) {
      text = total === 0 ? 'No findings.' : 'No finding matches the filters (' + fmt(total) + ' in total).';
    } else if (rows.length === total) {
      text = 'Showing ' + fmt(n) + ' of ' + fmt(total) + ' findings.';
    } else {
      text = 'Showing ' + fmt(n) + ' of ' + fmt(rows.length) + ' matching findings (' + fmt(total) + ' in total).';
    }
    countEl.textContent = text;
    moreBtn.hidden = n >= rows.length;
    moreBtn.textContent = 'Show ' + fmt(Math.min(PAGE, rows.length - n)) + ' more';
    var ths = document.querySelectorAll('#findings-table th[data-key]');
    for (var t = 0; t < ths.length; t++) {
      var th = ths[t];
      if (th.getAttribute('data-key') === state.sort) {
        th.setAttribute('aria-sort', state.dir > 0 ? 'ascending' : 'descending');
      } else {
        th.removeAttribute('aria-sort');
      }
    }
  }

  function apply() {
    state.shown = PAGE;
    compute();
    render();
  }

  function fromControls() {
    state.status = selStatus.value;
    state.feature = selFeature.value;
    state.object = inObject.value.trim();
    state.q = inQ.value.trim();
    writeHash();
    apply();
  }

  selStatus.addEventListener('change', fromControls);
  selFeature.addEventListener('change', fromControls);
  inObject.addEventListener('change', fromControls);
  inQ.addEventListener('input', fromControls);
  document.getElementById('filters').addEventListener('submit', function (ev) { ev.preventDefault(); });
  document.getElementById('f-clear').addEventListener('click', function () {
    state.status = state.feature = state.object = state.q = '';
    syncControls();
    writeHash();
    apply();
  });
  moreBtn.addEventListener('click', function () {
    state.shown += PAGE;
    render();
  });
  var fth = document.querySelectorAll('#findings-table th[data-key]');
  for (var h = 0; h < fth.length; h++) {
    fth[h].addEventListener('click', function (ev) {
      var key = ev.currentTarget.getAttribute('data-key');
      state.dir = state.sort === key ? -state.dir : 1;
      state.sort = key;
      writeHash();
      sortRows();
      render();
    });
  }
  window.addEventListener('hashchange', function () {
    if (readHash()) {
      syncControls();
      apply();
      document.getElementById('findings').scrollIntoView();
    }
  });

  // Server-rendered tables: sort rows by each cell's data-v (or its text).
  function sortable(table) {
    var heads = table.querySelectorAll('thead th');
    Array.prototype.forEach.call(heads, function (th, col) {
      var type = th.getAttribute('data-type');
      if (!type) { return; }
      th.addEventListener('click', function () {
        var dir = th.getAttribute('aria-sort') === 'ascending' ? -1 : 1;
        Array.prototype.forEach.call(heads, function (o) { o.removeAttribute('aria-sort'); });
        th.setAttribute('aria-sort', dir > 0 ? 'ascending' : 'descending');
        var tbody = table.tBodies[0];
        var trs = Array.prototype.slice.call(tbody.rows);
        var val = function (tr) {
          var cell = tr.cells[col];
          var v = cell.hasAttribute('data-v') ? cell.getAttribute('data-v') : cell.textContent;
          return type === 'num' ? Number(v) : v.toLowerCase();
        };
        trs.sort(function (a, b) { return cmp(val(a), val(b)) * dir; });
        trs.forEach(function (tr) { tbody.appendChild(tr); });
      });
    });
  }
  Array.prototype.forEach.call(document.querySelectorAll('table.sortable'), sortable);

  // Printing ("Save as PDF" is the deliverable): every finding that
  // matches the filters, each with its code and remediation, and every
  // feature's description open. The screen view comes back afterwards.
  var beforePrint = null;
  window.addEventListener('beforeprint', function () {
    if (beforePrint) { return; }
    var closed = Array.prototype.filter.call(document.querySelectorAll('details'), function (d) { return !d.open; });
    closed.forEach(function (d) { d.open = true; });
    beforePrint = { shown: state.shown, closed: closed };
    state.shown = rows.length;
    render(true);
  });
  window.addEventListener('afterprint', function () {
    if (!beforePrint) { return; }
    beforePrint.closed.forEach(function (d) { d.open = false; });
    state.shown = beforePrint.shown;
    beforePrint = null;
    render();
  });

  var linked = readHash();
  syncControls();
  apply();
  // A link to a filtered view opens at the findings.
  if (linked) { document.getElementById('findings').scrollIntoView(); }
}());
