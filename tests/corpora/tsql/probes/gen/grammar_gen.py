#!/usr/bin/env python3
"""Random T-SQL statements derived from Babelfish Compass's ANTLR grammar.

Usage (from tests/corpora/tsql):
  probes/gen/grammar_gen.py reference/compass-5.5.0/grammar grammar-generated [--seed 7]

Each statement is a random derivation of one of the grammar's statement rules
(--start), one statement a line, each its own batch (`GO`), 50 to a file. What
is explored is the statement and clause forms: identifiers come from a small
pool, and expressions, function calls and search conditions are drawn from
short realistic lists (the generated-*.sql probes cover those one by one).
The statements are syntactically valid for Compass, most of them nonsense for
SQL Server: the corpus finds forms the analyzer's parser or catalog does not
know, it is not a model of real code.

Compass 5.5.0 crashes (NullPointerException) on a few files of nonsense; those
are deleted before the reference is made (tests/corpora/tsql/README.md).
The same arguments always write the same files.
"""
import argparse
import os
import random
import re
import sys

# Tokens that only make nonsense (ODBC escapes, placeholders, sqlcmd) or crash Compass's
# analysis of it (a NULL "method").
BAN = {'DOLLAR_ACTION', 'QUESTION_MARK', 'L_CURLY', 'R_CURLY', 'BACKSLASH', 'DOUBLE_FORWARD_SLASH'}

LEAVES = {
    'expression': ['c1', '@v', '1', "N'abc'", 'c1 + 1', '(SELECT TOP (1) c1 FROM t1)', 'GETDATE()',
                   'NULL', 'dbo.f1(c1)', 'CAST(c1 AS int)', 'COUNT(*)', "'2020-01-01'"],
    'function_call': ['dbo.f1(c1)', 'ISNULL(c1, 0)', 'dbo.tvf1(1)'],
    'search_condition': ['c1 = 1', '@v IS NULL', 'EXISTS (SELECT 1 FROM t1)', 'c1 IN (1, 2)',
                         'c1 > @v AND c2 < 3', "c1 LIKE 'a%'"],
}

# --- lexer: token name -> text -------------------------------------------------------------
SPECIAL = {
    'ID': ['t1', 'c1', 'x', 'dbo', 'v1'],
    'LOCAL_ID': ['@v', '@p', '@n'],
    'STRING': ["'abc'", "N'xyz'", "'1'"],
    'DECIMAL': ['1', '2', '10'],
    'FLOAT': ['1.5'],
    'REAL': ['1e3'],
    'MONEY': ['$1.00'],
    'BINARY': ['0x01'],
    'SQUARE_BRACKET_ID': ['[c2]', '[t2]'],
    'DOUBLE_QUOTE_ID': ['"c3"'],
    'IPV4_ADDR': ['10.0.0.1'],
    'DISK_DRIVE': ['C:'],
    'DEFAULT_DOUBLE_QUOTE': ['"DEFAULT"'],
    'SINGLE_QUOTE': ["'"],
    'DOUBLE_FORWARD_SLASH': ['//'],
    'D': ['D'], 'R': ['R'], 'T': ['T'],
}


def lexer_tokens(path):
    src = open(path, encoding='utf-8').read()
    src = re.sub(r'/\*.*?\*/', '', src, flags=re.S)
    src = re.sub(r'(?m)//[^\n\']*$', '', src)
    out = {}
    for frag, name, body in re.findall(r'^\s*(fragment\s+)?([A-Z_][A-Z_0-9]*)\s*:(.*?);\s*$', src,
                                        flags=re.M | re.S):
        if frag or name in SPECIAL:
            continue
        body = re.sub(r'->.*', '', body).strip()
        text = []
        ok = True
        for t in body.split():
            if re.fullmatch(r'[A-Z]', t):
                text.append(t)
            elif t == 'UNDERLINE':
                text.append('_')
            elif t == 'DOLLAR':
                text.append('$')
            elif re.fullmatch(r"'[^']*'", t) or t == "'\\''":
                text.append(t[1:-1].replace("\\'", "'"))
            else:
                ok = False
        if ok and text:
            out[name] = [''.join(text)]
    out.update(SPECIAL)
    return out


# --- parser grammar ------------------------------------------------------------------------
TOKEN_RE = re.compile(r"\s*(?:(//[^\n]*)|(/\*.*?\*/)|('(?:\\.|[^'])*')|([A-Za-z_][A-Za-z_0-9]*)\s*(\+?=)?|(#\s*[A-Za-z_0-9]+)|(\?\?|\*\?|\+\?|[()|?*+;:.~]))", re.S)


def tokenize(body):
    pos, toks = 0, []
    while pos < len(body):
        m = TOKEN_RE.match(body, pos)
        if not m:
            if body[pos:].strip() == '':
                break
            raise ValueError('cannot tokenize: ' + body[pos:pos + 40])
        pos = m.end()
        if m.group(1) or m.group(2) or m.group(6):
            continue
        if m.group(3):
            toks.append(('lit', m.group(3)[1:-1]))
        elif m.group(4):
            if m.group(5):
                continue  # a label: name= / name+=
            toks.append(('ref', m.group(4)))
        else:
            toks.append(('op', m.group(7)))
    return toks


def parse_alts(toks, i):
    alts, seq = [], []
    while i < len(toks):
        kind, v = toks[i]
        if kind == 'op' and v == '|':
            alts.append(seq); seq = []; i += 1; continue
        if kind == 'op' and v == ')':
            break
        if kind == 'op' and v == '(':
            sub, i = parse_alts(toks, i + 1)
            i += 1  # ')'
            item = ('group', sub)
        elif kind == 'op' and v == '~':
            raise ValueError('negation unsupported')
        else:
            item = (kind, v); i += 1
        suffix = ''
        if i < len(toks) and toks[i][0] == 'op' and toks[i][1] in ('?', '*', '+', '??', '*?', '+?'):
            suffix = toks[i][1][0]; i += 1
        seq.append((item, suffix))
    alts.append(seq)
    return alts, i


def parser_rules(path):
    src = open(path, encoding='utf-8').read()
    src = re.sub(r'/\*.*?\*/', '', src, flags=re.S)
    src = re.sub(r'(?m)//[^\n]*$', '', src)
    src = src.split('tokenVocab = TSQLLexer;', 1)[1].split('}', 1)[1]
    rules = {}
    for name, body in re.findall(r'(?m)^([a-z_][A-Za-z_0-9]*)\s*\n?\s*:(.*?)\n\s*;', src, flags=re.S):
        alts, _ = parse_alts(tokenize(body), 0)
        rules[name] = alts
    return rules


# --- generation ----------------------------------------------------------------------------
class Gen:
    def __init__(self, rules, tokens, rng, max_depth):
        self.rules, self.tokens, self.rng, self.max_depth = rules, tokens, rng, max_depth
        self.cost = self.min_costs()

    def min_costs(self):
        INF = 10 ** 9
        cost = {r: INF for r in self.rules}

        def seq_cost(seq):
            c = 1
            for item, suf in seq:
                if suf in ('?', '*'):
                    continue
                c += item_cost(item)
            return c

        def item_cost(item):
            kind, v = item
            if kind == 'group':
                return min(seq_cost(s) for s in v)
            if kind == 'ref' and v in self.rules:
                return cost[v]
            return 1

        changed = True
        while changed:
            changed = False
            for r, alts in self.rules.items():
                c = min(seq_cost(s) for s in alts)
                if c < cost[r]:
                    cost[r] = c; changed = True
        self.seq_cost = seq_cost
        return cost

    def rule(self, name, depth, out):
        self.alts(self.rules[name], depth, out)

    def alts(self, alts, depth, out):
        alts = [a for a in alts if not self.banned(a)] or alts
        if depth > self.max_depth:
            best = min(self.seq_cost(a) for a in alts)
            alts = [a for a in alts if self.seq_cost(a) == best]
        seq = self.rng.choice(alts)
        for item, suf in seq:
            if item[0] != 'group' and item[1] in BAN:
                continue
            if suf == '?':
                n = 0 if depth > self.max_depth else self.rng.random() < 0.35
            elif suf == '*':
                n = 0 if depth > self.max_depth else self.rng.choice([0, 0, 1, 2])
            elif suf == '+':
                n = 1 if depth > self.max_depth else self.rng.choice([1, 1, 2])
            else:
                n = 1
            for _ in range(int(n)):
                self.item(item, depth + 1, out)

    def banned(self, seq):
        return any(suf not in ('?', '*') and item[0] != 'group' and item[1] in BAN for item, suf in seq)

    def item(self, item, depth, out):
        kind, v = item
        if kind == 'group':
            self.alts(v, depth, out)
        elif kind == 'lit':
            out.append(v)
        elif v in self.rules:
            self.rule(v, depth, out)
        elif v == 'EOF':
            pass
        elif v in self.tokens:
            out.append(self.rng.choice(self.tokens[v]))
        else:
            out.append(v)


def join(words):
    s = ' '.join(words)
    s = re.sub(r' ?([,)]) ?', r'\1 ', s)
    s = re.sub(r'\( ', '(', s)
    s = re.sub(r' \. ', '.', s)
    return re.sub(r'\s+', ' ', s).strip()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('grammar_dir', help='folder holding TSQLParser.g4 and TSQLLexer.g4')
    ap.add_argument('out_dir')
    ap.add_argument('--seed', type=int, default=7)
    ap.add_argument('--count', type=int, default=3000, help='statements')
    ap.add_argument('--per-file', type=int, default=50)
    ap.add_argument('--depth', type=int, default=8,
                    help='derivation depth past which the shortest alternative is taken')
    ap.add_argument('--start', help='statement rules, comma-separated; repeat one to weight it',
                    default='dml_statement,dml_statement,ddl_statement,ddl_statement,'
                            'another_statement,cfl_statement,batch_level_statement,dbcc_statement')
    a = ap.parse_args()
    tokens = lexer_tokens(os.path.join(a.grammar_dir, 'TSQLLexer.g4'))
    rules = parser_rules(os.path.join(a.grammar_dir, 'TSQLParser.g4'))
    # Identifiers from a small pool: keywords read as names only add noise.
    rules['spatial_methods'] = [a for a in rules['spatial_methods'] if a != [(('ref', 'NULL'), '')]]
    rules['id'] = [[(('ref', 'ID'), '')], [(('ref', 'ID'), '')], [(('ref', 'SQUARE_BRACKET_ID'), '')]]
    # Realistic leaves: statement and clause forms are what we explore; expressions and
    # functions have their own generated probes, and random ones crash Compass's analysis.
    for name, pool in LEAVES.items():
        rules[name] = [[(('lit', e), '')] for e in pool]
    rng = random.Random(a.seed)
    g = Gen(rules, tokens, rng, a.depth)
    os.makedirs(a.out_dir, exist_ok=True)
    starts = a.start.split(',')
    seen = set()
    n = 0
    files = {}
    while n < a.count:
        out = []
        g.rule(rng.choice(starts), 0, out)
        s = join(out)
        if not s or s in seen or len(s) > 400:
            continue
        seen.add(s)
        files.setdefault(n // a.per_file, []).append(s)
        n += 1
    for k, stmts in files.items():
        with open(os.path.join(a.out_dir, 'g%03d.sql' % k), 'w') as f:
            for s in stmts:
                f.write(s + '\nGO\n')
    print(len(rules), 'rules,', len(tokens), 'tokens,', n, 'statements', file=sys.stderr)


if __name__ == '__main__':
    main()
