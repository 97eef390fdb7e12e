#!/usr/bin/env python3
"""Regenerates the expected renderings next to this script with real Jinja2,
configured as transformers' apply_chat_template configures it (trim_blocks,
lstrip_blocks, loopcontrols, tojson with ensure_ascii=False, raise_exception,
strftime_now).  Not needed to build or test ingot: only to refresh the
*.expected files and features.json after a template or case changes.

    python3 tests/data/chat_templates/make_expected.py

strftime_now() renders as @@STRFTIME(<format>)@@; the C test substitutes the
date it computes, so that the files do not depend on the day they were made.
"""
import json
import os

import jinja2
from jinja2.ext import Extension, loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.normpath(os.path.join(HERE, "..", "..", ".."))


def raise_exception(message):
    raise jinja2.exceptions.TemplateError(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


class Generation(Extension):
    """transformers' AssistantTracker when not tracking: {% generation %} renders its body."""

    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
        return jinja2.nodes.CallBlock(self.call_method("_generation", []), [], [], body).set_lineno(lineno)

    def _generation(self, caller):
        return caller()


def environment():
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[Generation, loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = lambda fmt: "@@STRFTIME(" + fmt + ")@@"
    return env


# Must match tests/test_chat_template.c.
CONVERSATION = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "What is 2+2?"},
    {"role": "assistant", "content": "<think>\nAdd them.\n</think>\n\n2+2 is 4."},
    {"role": "user", "content": "  And times 3?  "},
]
# model: (bos_token, eos_token); None = not defined.
MODELS = {
    "llama-2-chat": ("<s>", "</s>"),
    "llama-3-instruct": ("<|begin_of_text|>", "<|eot_id|>"),
    "llama-3.1-instruct": ("<|begin_of_text|>", "<|eot_id|>"),
    "llama-3.2-instruct": ("<|begin_of_text|>", "<|eot_id|>"),
    "mistral-7b-instruct-v0.1": ("<s>", "</s>"),
    "mistral-7b-instruct-v0.3": ("<s>", "</s>"),
    "qwen2-instruct": (None, "<|im_end|>"),
    "qwen2.5-instruct": (None, "<|im_end|>"),
    "deepseek-llm-7b-chat": ("<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"),
    "deepseek-coder-6.7b-instruct": ("<｜begin▁of▁sentence｜>", "<|EOT|>"),
    "deepseek-r1-distill-qwen": ("<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"),
    "tiny-llama": ("<|endoftext|>", "<|endoftext|>"),
}
# A tool round trip, rendered through the JSON-context API.
TOOLS = [{"type": "function", "function": {
    "name": "get_weather", "description": "Get the current weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string", "description": "City name"}},
                   "required": ["city"]}}}]
TOOL_CONVERSATION = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "What is the weather in Paris?"},
    {"role": "assistant", "content": "", "tool_calls": [{"id": "call12345", "type": "function", "function": {
        "name": "get_weather", "arguments": {"city": "Paris"}}}]},
    {"role": "tool", "tool_call_id": "call12345", "content": "{\"temperature\": 18}"},
]
TOOL_MODELS = ["llama-3.1-instruct", "qwen2.5-instruct", "mistral-7b-instruct-v0.3"]


def template_path(model):
    if model == "tiny-llama":
        return os.path.join(TOP, "models", "tiny-llama", "chat_template.jinja")
    return os.path.join(HERE, model + ".jinja")


def render(env, model, **ctx):
    with open(template_path(model), encoding="utf-8") as f:
        return env.from_string(f.read()).render(**ctx)


def write(name, text):
    with open(os.path.join(HERE, name), "w", encoding="utf-8", newline="") as f:
        f.write(text)


def feature_cases():
    """(name, template, context): small templates probing one feature each."""
    msgs = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"},
            {"role": "user", "content": "Bye"}]
    return [
        ("text", "plain text", {}),
        ("output", "a{{ x }}b", {"x": "X"}),
        ("undefined prints nothing", "[{{ missing }}]", {}),
        ("none and bools", "{{ none }} {{ true }} {{ false }} {{ True }} {{ None }}", {}),
        ("numbers", "{{ 1 + 2 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 2 * 3 - 1 }} {{ -4 }}"
         " {{ 1.5 + 1 }} {{ 7 / 2 }} {{ 4 / 2 }} {{ 2 ** 10 }} {{ 1_000 }} {{ 1e3 }}", {}),
        ("float printing", "{{ 0.1 }} {{ 1e16 }} {{ 1e15 }} {{ 1.5e-5 }} {{ 0.0001 }} {{ 123456789.123 }}"
         " {{ 3.0 * 2 }} {{ 2.5e-3 }}", {}),
        ("string escapes", "{{ 'a\\nb\\t\"c\"' }}|{{ \"it's\" }}|{{ 'x\\\\y' }}|{{ '\\u00e9\\x41' }}|{{ 'a' 'b' }}", {}),
        ("comment", "a{# gone #}b", {}),
        ("trim_blocks", "{% if true %}\nx\n{% endif %}\ny", {}),
        ("lstrip_blocks", "a\n    {% if true %}\n    b\n    {% endif %}\nc", {}),
        ("lstrip at start", "   {% if true %}x{% endif %}", {}),
        ("lstrip only after a line start", "{{ 1 }}  {% if true %}x{% endif %}", {}),
        ("lstrip after trimmed newline", "{% if true %}\n   {% if true %}y{% endif %}{% endif %}", {}),
        ("minus trims", "a   {{- 'b' -}}   c  {%- if true -%}  d  {%- endif %}", {}),
        ("minus trims newlines", "a\n\n  {%- if true -%}\n\n  b\n  {%- endif %}\n", {}),
        ("plus keeps", "  {%+ if true %}\n  a{% endif +%}\nb", {}),
        ("comment whitespace", "  {#- c #}  x\n  {# c #}\ny", {}),
        ("output keeps newline", "{{ 'a' }}\n{{ 'b' }}\n", {}),
        ("trailing newline dropped", "x\n", {}),
        ("crlf normalized", "a\r\n{% if true %}\r\nb\r\n{% endif %}\r\nc", {}),
        ("braces in strings", "{{ '}}' }}{{ {'a': {'b': 1}}['a']['b'] }}{% set s = '%}' %}{{ s }}", {}),
        ("if elif else", "{% for n in [1, 2, 3] %}{% if n == 1 %}one{% elif n == 2 %}two{% else %}many{% endif %},"
         "{% endfor %}", {}),
        ("loop variables", "{% for x in items %}{{ loop.index }}{{ loop.index0 }}{{ loop.first }}{{ loop.last }}"
         "{{ loop.length }}{{ loop.revindex }}{{ loop.revindex0 }};{% endfor %}", {"items": ["a", "b", "c"]}),
        ("loop prev and next", "{% for x in [1, 2, 3] %}{{ loop.previtem }}-{{ loop.nextitem }};{% endfor %}", {}),
        ("nested loops", "{% for a in [1, 2] %}{% for b in 'xy' %}{{ a }}{{ b }}{{ loop.index }} {% endfor %}"
         "{{ loop.index }}|{% endfor %}", {}),
        ("for else", "{% for x in [] %}x{% else %}empty{% endfor %}{% for x in [1] %}x{% else %}empty{% endfor %}", {}),
        ("for over undefined", "[{% for x in nothing %}x{% endfor %}]", {}),
        ("for with a condition", "{% for x in [1, 2, 3, 4] if x % 2 == 0 %}{{ loop.index }}:{{ x }}"
         "{% if not loop.last %},{% endif %}{% endfor %}", {}),
        ("tuple unpacking", "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}"
         "{% for (a, b) in [[1, 2], [3, 4]] %}{{ a + b }}{% endfor %}", {"d": {"x": 1, "y": "z"}}),
        ("dict iteration", "{% for k in d %}{{ k }}{% endfor %}", {"d": {"b": 1, "a": 2}}),
        ("string iteration", "{% for ch in 'héllo' %}{{ ch }}.{% endfor %}", {}),
        ("break continue", "{% for n in [1, 2, 3, 4] %}{% if n == 2 %}{% continue %}{% endif %}"
         "{% if n == 4 %}{% break %}{% endif %}{{ n }}{% endfor %}", {}),
        ("set and scope", "{% set a = 1 %}{% for x in [1, 2] %}[{{ a }}]{% set a = x * 10 %}{{ a }}{% endfor %}"
         "{{ a }}{% if true %}{% set b = 3 %}{% endif %}{{ b }}", {}),
        ("set shadows a variable", "{% set messages = messages[1:] %}{{ messages | length }}", {"messages": msgs}),
        ("block set", "{% set x %}hello {{ 1 + 1 }}{% endset %}[{{ x }}]", {}),
        ("tuple set", "{% set a, b = [1, 2] %}{{ b }}{{ a }}", {}),
        ("namespace", "{% set ns = namespace(total=0, seen=false) %}{% for x in [1, 2, 3] %}"
         "{% set ns.total = ns.total + x %}{% if x == 2 %}{% set ns.seen = true %}{% endif %}"
         "{% endfor %}{{ ns.total }} {{ ns.seen }}", {}),
        ("namespace attribute added", "{% set ns = namespace() %}{% set ns.a = 'x' %}{{ ns.a }}", {}),
        ("macro", "{% macro m(a, b=2) %}<{{ a }}{{ b }}>{% endmacro %}{{ m(1) }}{{ m(3, b=4) }}{{ m('x', 'y') }}", {}),
        ("macro sees globals", "{% macro hi() %}{{ who }}!{% endmacro %}{% set who = 'me' %}{{ hi() }}", {}),
        ("comparisons", "{{ 1 < 2 }}{{ 2 <= 1 }}{{ 'a' == 'a' }}{{ 'a' != 'a' }}{{ 3 > 2 }}{{ 1 >= 1 }}"
         "{{ 'a' < 'b' }}{{ 1 == 1.0 }}{{ true == 1 }}{{ [1, 2] == [1, 2] }}{{ {'a': 1} == {'a': 1} }}", {}),
        ("logic", "{{ true and false }}{{ true or false }}{{ not true }}{{ not (1 == 2) }}{{ 0 or 'x' }}"
         "{{ 'a' and 'b' }}{{ none or [] }}", {}),
        ("in", "{{ 'b' in 'abc' }}{{ 2 in [1, 2] }}{{ 'k' in d }}{{ 'q' not in d }}{{ 'x' in nothing }}",
         {"d": {"k": 1}}),
        ("tests", "{{ x is defined }}{{ y is defined }}{{ y is not defined }}{{ n is none }}{{ s is string }}"
         "{{ d is mapping }}{{ s is iterable }}{{ x is number }}{{ x is integer }}{{ 1.5 is float }}"
         "{{ true is boolean }}{{ x is odd }}{{ 4 is even }}{{ 9 is divisibleby 3 }}{{ 9 is divisibleby(4) }}"
         "{{ 'ab' is lower }}{{ s is equalto 's' }}{{ false is sameas false }}{{ d is sequence }}",
         {"x": 1, "n": None, "s": "s", "d": {}}),
        ("conditional expression", "{{ 'yes' if flag else 'no' }}[{{ 'a' if false }}]{{ 1 if 0 else 2 if 1 else 3 }}",
         {"flag": True}),
        ("concat operator", "{{ 'n=' ~ 3 ~ true ~ none ~ nothing }}", {}),
        ("string and list arithmetic", "{{ 'ab' * 2 }}{{ [1] + [2] }}{{ 'a' + 'b' }}{{ [0] * 3 }}", {}),
        ("subscript and slices", "{{ xs[0] }}{{ xs[-1] }}{{ xs[1:] }}{{ xs[:2] }}{{ 'hello'[1:3] }}{{ d['k'] }}"
         "{{ d.k }}{{ xs[10] }}{{ xs.0 }}", {"xs": [1, 2, 3], "d": {"k": "v"}}),
        ("slice steps", "{{ xs[::-1] }}{{ xs[::2] }}{{ xs[1::2] }}{{ xs[-1:0:-1] }}{{ xs[:-2:-1] }}"
         "{{ 'abc'[::-1] }}{{ xs[-100:100] }}{{ 'héllo'[1:4] }}", {"xs": [1, 2, 3, 4, 5]}),
        ("list and dict literals", "{{ [1, 'a', none, true, 1.5] }}{{ {'k': 1}['k'] }}{{ {'a': 'it\\'s'} }}{{ [] }}"
         "{{ {} }}{{ ('x',) }}", {}),
        ("filters", "{{ '  x  ' | trim }}|{{ xs | length }}|{{ 'Ab' | upper }}{{ 'Ab' | lower }}|"
         "{{ xs | join('-') }}|{{ xs | first }}{{ xs | last }}|{{ missing | default('d') }}|"
         "{{ '' | default('e', true) }}|{{ 5 | string }}|{{ '12' | int + 1 }}|{{ 'x' | int }}|{{ 3.9 | int }}|"
         "{{ 'aBc' | capitalize }}|{{ 'ab cd-ef' | title }}|{{ 'aXbX' | replace('X', '-') }}|"
         "{{ [3, 1, 2] | sort }}|{{ [3, 1, 2] | sort(reverse=true) }}|{{ 'abc' | reverse }}|{{ 'héllo' | length }}|"
         "{{ [1, 2] | sum }}|{{ [1, 2, 1] | unique | list }}|{{ [1, 5, 3] | max }}{{ [4, 2] | min }}|"
         "{{ -3 | abs }}|{{ 2.567 | round(2) }}|{{ '2.5' | float }}|{{ d | items | list }}|{{ d | dictsort }}|"
         "{{ xs | count }}|{{ 'abc' | list }}|{{ missing | length }}|{{ ' x ' | trim('x ') }}|{{ 'a' | safe }}",
         {"xs": [1, 2, 3], "d": {"b": 2, "a": 1}}),
        ("filter binds tighter than plus", "{{ 'a' + ' b ' | trim + 'c' }}{{ xs | length - 1 }}", {"xs": [1, 2]}),
        ("select and map", "{{ msgs | selectattr('role', 'equalto', 'user') | list | length }} "
         "{{ (msgs | selectattr('role', 'equalto', 'user') | list)[-1].content }} "
         "{{ msgs | rejectattr('role', 'equalto', 'user') | map(attribute='content') | join(',') }} "
         "{{ msgs | map(attribute='role') | unique | join(',') }} {{ [1, 2, 3, 4] | select('odd') | list }} "
         "{{ ['a', 'code', 'b'] | reject('equalto', 'code') | join(', ') }} {{ ['a', 'B'] | map('upper') | list }}"
         " {{ msgs | map(attribute='nope', default='-') | join }}",
         {"msgs": msgs}),
        ("selectattr truthy", "{% for i in items | selectattr('on') %}{{ i.n }}{% endfor %}",
         {"items": [{"n": 1, "on": True}, {"n": 2, "on": False}, {"n": 3}]}),
        ("string methods", "{{ ' x '.strip() }}{{ 'abc'.startswith('ab') }}{{ 'abc'.endswith('x') }}"
         "{{ 'ab'.upper() }}{{ 'hello wORLD'.title() }}{{ ' x '.lstrip() }}|{{ ' x '.rstrip() }}|"
         "{{ 'abc'.startswith(('x', 'a')) }}{{ 'a-b'.replace('-', '+') }}{{ 'abcb'.find('b') }}{{ 'abcb'.rfind('b') }}"
         "{{ 'abcb'.count('b') }}{{ ', '.join(['x', 'y']) }}{{ 'Ab'.lower() }}{{ 'ab'.capitalize() }}"
         "{{ '12'.isdigit() }}{{ 'a1'.isalpha() }}{{ 'a\\nb'.splitlines() }}", {}),
        ("strip characters", "[{{ '\\n\\nx\\n'.strip('\\n') }}][{{ 'xxay'.lstrip('x') }}][{{ 'ayyx'.rstrip('xy') }}]"
         "[{{ ' a '.strip(none) }}]", {}),
        ("split", "{{ 'a<b>c<b>'.split('<b>') }}{{ ' a  b '.split() }}{{ 'x'.split(',') }}"
         "{{ 'r</think>a'.split('</think>')[-1] }}{{ 'a b c'.split(none, 1) }}{{ 'a,b,c'.split(',', 1) }}"
         "{{ 'a,b,c'.rsplit(',', 1) }}{{ '  a b  c '.split(none, 1) }}{{ ''.split() }}{{ ''.split(',') }}", {}),
        ("dict methods", "{{ d.get('k') }}{{ d.get('q', 'dflt') }}{{ d.get('q') }}{{ d.keys() | list }}"
         "{{ d.values() | list }}{{ d.items() | list }}", {"d": {"k": "v"}}),
        ("tojson", "{{ {'a': [1, 'x', none, true, 2.5], 'é': '\"\\n'} | tojson }}|{{ 'x' | tojson }}|{{ [] | tojson }}",
         {}),
        ("tojson indented", "{{ {'b': [1, {'c': 'x'}], 'a': {}, 'e': []} | tojson(indent=4) }}", {}),
        ("tojson sorted", "{{ {'b': 1, 'a': 2} | tojson(sort_keys=true) }}", {}),
        ("range", "{% for i in range(3) %}{{ i }}{% endfor %}{{ range(1, 8, 3) | list }}{{ range(3, -1, -1) | list }}"
         "{{ range(0, 3, -1) | list }}", {}),
        ("strftime_now", "{{ strftime_now('%Y') is string }}", {}),
        ("raise_exception unused", "{% if false %}{{ raise_exception('no') }}{% endif %}ok", {}),
        ("generation block", "a{% generation %}b{{ 1 }}{% endgeneration %}c", {}),
        ("dict function", "{{ dict(a=1, b='x') }}", {}),
        ("unicode content", "{{ s | upper }}|{{ s[0] }}|{{ s | length }}", {"s": "ünï"}),
        ("none attribute", "[{{ n.x }}]", {"n": None}),
        ("messages", "{% for m in messages %}{{ m.role }}:{{ m['content'] }};{% endfor %}", {"messages": msgs}),
        # Jinja decides scopes at compile time: a frame assigning a name first starts it out undefined.
        ("set after a loop", "{% for i in [1] %}[{{ x }}]{% endfor %}{% set x = 5 %}[{{ x }}]", {"x": 2}),
        ("set after a nested loop", "{% for i in [1] %}{% for j in [1] %}[{{ x }}]{% endfor %}{% set x = 5 %}"
         "{% endfor %}|{% for i in [1] %}{% for j in [1] %}[{{ y }}]{% endfor %}{% set y = 5 %}{% endfor %}"
         "{{ y }}", {"x": 2, "y": 3}),
        ("set in a branch resolves", "{% for i in [1] %}[{{ x }}]{% endfor %}{% if true %}{% set x = 5 %}{% endif %}"
         "[{{ x }}][{{ z }}]{% set z = 1 %}", {"x": 2, "z": 3}),
        ("for-else, set and generation blocks have their own scope",
         "{% for i in [] %}{% else %}{% set a = 1 %}{% endfor %}{% set b %}{% set c = 1 %}{% endset %}"
         "{% generation %}{% set d = 1 %}{% endgeneration %}[{{ a }}{{ c }}{{ d }}]", {}),
        ("macro and loop filter scopes", "{% macro m() %}{% for j in [1] %}[{{ x }}]{% endfor %}{% set x = 5 %}"
         "{% endmacro %}{{ m() }}{% for j in [1] if y %}[{{ j }}]{% endfor %}{% set y = 0 %}", {"x": 2, "y": 1}),
        ("generators", "{% if [] | select('odd') %}true{% endif %}|{{ [1, 2, 3] | select('odd') | list }}|"
         "{{ [1, 2] | map('string') | join }}|{{ [3, 1] | reverse | list }}|{{ {'a': 1} | items | list }}|"
         "{{ [1, 2, 3] | select('odd') | first }}|{{ 3 in [1, 3] | select('odd') }}", {}),
        ("list methods", "{{ [1, 2, 1].count(1) }}{{ ('a', 'b').index('b') }}", {}),
        ("odd and round", "{{ 1.5 is odd }}{{ 3 is odd }}{{ 10 | round }}{{ 2.5 | round }}{{ 10 | round(1) }}"
         "{{ 3 is lower }}{{ 'aB' is lower }}{{ not 'x' | safe }}", {}),
        ("tuples", "{{ (1, 'a') }}{{ ('x',) }}{{ () }}{{ (1, 2) == [1, 2] }}{{ (1, 2)[1:] }}{{ (1,) + (2,) }}", {}),
        ("unicode case", "{{ 'ß'.upper() }} {{ 'ß' | title }} {{ 'ßa'.capitalize() }} {{ 'ﬁne'.upper() }}"
         " {{ 'straße' | upper }} {{ 'ÉTÉ' | lower }} {{ 'éte'.title() }} {{ 'ǆ'.title() }} {{ 'ǆ' | title }}"
         " {{ 'Ünï' is upper }} {{ 'ünï'.islower() }} {{ '٣'.isdigit() }}", {}),
        ("repr of unicode", "{{ ['a\u3000b', 'é', 'x\u200by', '\x7f'] }}", {}),
        ("repr", "{{ ['it\\'s', 'say \"hi\"', 'both \\' \"', 'tab\\t', nothing] }}", {}),
    ]


def main():
    env = environment()
    for model, (bos, eos) in MODELS.items():
        ctx = {"messages": CONVERSATION, "tools": None, "documents": None, "add_generation_prompt": True}
        if bos is not None:
            ctx["bos_token"] = bos
        if eos is not None:
            ctx["eos_token"] = eos
        write(model + ".expected", render(env, model, **ctx))
    tool_ctx = {"messages": TOOL_CONVERSATION, "tools": TOOLS, "add_generation_prompt": True}
    write("tools.json", json.dumps(tool_ctx, ensure_ascii=False, indent=1) + "\n")
    for model in TOOL_MODELS:
        bos, eos = MODELS[model]
        write(model + ".tools.expected", render(env, model, bos_token=bos, eos_token=eos, **tool_ctx))
    cases = []
    for name, template, ctx in feature_cases():
        out = env.from_string(template).render(**ctx)
        cases.append({"name": name, "template": template, "context": ctx, "expected": out})
    write("features.json", json.dumps(cases, ensure_ascii=False, indent=1) + "\n")


if __name__ == "__main__":
    main()
