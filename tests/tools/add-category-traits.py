#!/usr/bin/env python3
"""Gives every test class a [Trait("Category", X)] by what it uses (STYLE.md §14, docs/testing.md).

Usage: python3 tests/tools/add-category-traits.py [--dry-run]

A test class is a non-abstract class with a [Fact]/[Theory] (or a *Fact attribute), or one that
derives from a class that has them. A class that already carries a Category trait is left alone.
Otherwise the first rule that matches its body decides (the layers of STYLE.md §14):

  Browser      drives a real browser (Playwright)
  Fault        kills processes or injects faults (SIGKILL, Kill(), a fault/crash/damage test)
  Simulation   runs the seeded gate simulation
  Fuzz         seeded generators (FsCheck, a fuzzer)
  Integration  a real server process or real sockets (loopback HTTP, Kestrel, a webhook receiver)
  Component    a subsystem over real files: SQLite, a data directory, the in-process host
  Unit         none of the above: pure, in memory

The rules are a first pass: a class that the rules put in the wrong layer gets its trait by hand,
and the script leaves it alone from then on. TestCategoryTests (tests/Shared) fails for a class
without one.
"""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LAYERS = ['Unit', 'Component', 'Integration', 'Fault', 'Fuzz', 'Simulation', 'Browser']
RULES = [
    ('Browser', [r'Playwright', r'chromium']),
    ('Fault', [r'SIGKILL', r'\.Kill\(\)', r'class \w*(Crash|Fault|Damage)\w*Tests']),
    ('Simulation', [r'GateSimulation']),
    ('Fuzz', [r'\bFsCheck\b', r'\bProp\.', r'\bArb\.', r'\bGen\.', r'class \w*Fuzz\w*', r'HttpFuzz']),
    ('Integration', [r'\bServerProcess\b', r'\bRunningServerTest\b', r'\bTestServer\.Start', r'\bRawHttp\b', r'\bTcpListener\b',
                     r'\bTcpClient\b', r'\bHttpListener\b', r'\bWebhookReceiver\b', r'\bKestrel\b', r'UseUrls', r'127\.0\.0\.1',
                     r'\bfixture\.Server\b', r'ServerFixture']),
    ('Component', [r'\bSqlite\w*', r'\bTempDirectory\b', r'\bShowrunnerFactory\b', r'\bLiveHarness\b', r'\bIngestPipeline\b',
                   r'\bLedgerDirectory\b', r'\bSimulationDirectory\b', r'\bDataDirectory\b']),
]
# Every test of this project runs the real server as a child process: at least Integration.
FLOORS = {'Showrunner.EndToEnd.Tests': 'Integration'}
# Top-level classes only (file-scoped namespaces): a nested helper class belongs to its test class.
CLASS = re.compile(r'^(?P<indent>)(?:(?:public|internal|private|sealed|static|abstract|partial|file)\s+)*class\s+(?P<name>\w+)'
                   r'(?:<[^>]*>)?(?:\s*\([^)]*\))?(?:\s*:\s*(?P<bases>[^{\n]+))?', re.M)
TEST = re.compile(r'\[(?:\w+\.)*\w*(Fact|Theory)\b')
TRAIT = re.compile(r'\[Trait\("Category",\s*"(\w+)"\)\]')


def classes(path, text):
    found = list(CLASS.finditer(text))
    for i, match in enumerate(found):
        end = found[i + 1].start() if i + 1 < len(found) else len(text)
        yield match, text[match.start():end]


def main():
    dry = '--dry-run' in sys.argv
    files = []
    for directory, _, names in os.walk(os.path.join(ROOT)):
        relative = os.path.relpath(directory, ROOT).split(os.sep)
        if any(part in ('bin', 'obj', 'tools', 'TestResults') for part in relative):
            continue
        files += [os.path.join(directory, n) for n in names if n.endswith('.cs')]
    infos = {}
    for path in files:
        text = open(path, encoding='utf-8').read()
        for match, body in classes(path, text):
            bases = [b.strip().split('<')[0].split('(')[0] for b in (match.group('bases') or '').split(',')]
            infos.setdefault(match.group('name'), []).append((path, match, body, bases))
    has_tests = {name for name, items in infos.items() if any(TEST.search(body) for _, _, body, _ in items)}
    edits = {}
    for name, items in sorted(infos.items()):
        for path, match, body, bases in items:
            declaration = match.group(0)
            if 'abstract' in declaration.split('class')[0]:
                continue
            if name not in has_tests and not any(b in has_tests for b in bases):
                continue
            text = open(path, encoding='utf-8').read()
            head = text[max(0, match.start() - 600):match.start()]
            # The attributes directly above the declaration.
            attributes = re.findall(r'^[ \t]*\[.*\][ \t]*$', head.split('\n///')[-1] if '///' in head else head, re.M)
            existing = [m for a in attributes for m in TRAIT.findall(a)]
            if existing:
                layer = existing[-1]
                if layer not in LAYERS:
                    print(f'{os.path.relpath(path, ROOT)}: {name} has Category "{layer}", not one of {LAYERS}', file=sys.stderr)
                print(f'{"(kept)":12} {layer:12} {name}')
                continue
            layer = next((layer for layer, patterns in RULES if any(re.search(p, body) for p in patterns)), 'Unit')
            floor = FLOORS.get(os.path.relpath(path, ROOT).split(os.sep)[0])
            if floor and layer in ('Unit', 'Component'):
                layer = floor
            print(f'{"":12} {layer:12} {name}  ({os.path.relpath(path, ROOT)})')
            edits.setdefault(path, []).append((match.start(), match.group('indent'), layer))
    if dry:
        return
    for path, items in edits.items():
        text = open(path, encoding='utf-8').read()
        for start, indent, layer in sorted(items, reverse=True):
            text = text[:start] + f'{indent}[Trait("Category", "{layer}")]\n' + text[start:]
        open(path, 'w', encoding='utf-8').write(text)


if __name__ == '__main__':
    main()
