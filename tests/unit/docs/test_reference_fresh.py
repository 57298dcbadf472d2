# -*- coding: utf-8 -*-
# Copyright: hostnet.netif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""docs/reference/ is what docs/gen_reference.py makes of the plugins' own documentation
(ansible-doc --json), page for page, and the generator renders what it is given."""

import importlib.util
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
REFERENCE = os.path.join(ROOT, "docs", "reference")


def load_generator():
    spec = importlib.util.spec_from_file_location("netif_gen_reference", os.path.join(ROOT, "docs", "gen_reference.py"))
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    return generator


gen = load_generator()


@pytest.fixture(scope="module")
def docs():
    return gen.load(ROOT)


@pytest.fixture(scope="module")
def regenerated(docs, tmp_path_factory):
    out = str(tmp_path_factory.mktemp("reference"))
    gen.write(gen.render(docs, ROOT), out)
    return out


def test_reference_is_not_stale(regenerated):
    fresh = sorted(f for f in os.listdir(regenerated) if f.endswith(".md"))
    committed = sorted(f for f in os.listdir(REFERENCE) if f.endswith(".md"))
    assert committed == fresh, "docs/reference has other pages than the generator makes: run make docs"
    stale = []
    for name in fresh:
        with open(os.path.join(regenerated, name), encoding="utf-8") as new, \
                open(os.path.join(REFERENCE, name), encoding="utf-8") as old:
            if new.read() != old.read():
                stale.append(name)
    assert not stale, "docs/reference is stale (%s): run make docs" % ", ".join(stale)


def test_every_module_and_role_has_a_page(docs):
    modules, roles = gen.discover(ROOT)
    assert modules and sorted(docs["modules"]) == modules
    assert sorted(docs["roles"]) == roles
    pages = gen.render(docs, ROOT)
    expected = {"README.md"} | {m + ".md" for m in modules} | {r + "_role.md" for r in roles}
    assert set(pages) == expected
    for name in modules:
        assert "](%s.md)" % name in pages["README.md"]
    for name in roles:
        assert "](%s_role.md)" % name in pages["README.md"]


def test_pages_hold_fragment_options_suboptions_examples_and_returns(docs):
    pages = gen.render(docs, ROOT)
    page = pages["interfaces.md"]
    # options of the doc fragment (hostnet.netif.resource) are merged in
    assert "| **`force`** | bool | `false` |" in page
    assert "| **`config[].name`**<br>required | str |" in page
    assert "Choices: `merged`, `replaced`, `overridden`, `deleted`, `gathered`, `rendered`, `parsed`." in page
    assert "## Examples\n\n```yaml\n- name: " in page
    assert "| **`commands`** | list of str |" in page
    assert "| **check_mode** | full |" in page
    facts = pages["interface_facts.md"]
    assert "| **`ansible_facts.netif.interfaces.addresses[].prefixlen`** | int | always |" in facts
    # a module of the collection is linked to its page, a builtin one to docs.ansible.com
    assert "[hostnet.netif.interface_facts](interface_facts.md)" in pages["sysctls.md"]
    assert "docs.ansible.com/ansible/latest/collections/ansible/builtin/setup_module.html" in facts


def test_generation_is_deterministic(docs):
    assert gen.render(docs, ROOT) == gen.render(docs, ROOT)
    for text in gen.render(docs, ROOT).values():
        assert ROOT not in text  # no absolute paths of this checkout


@pytest.mark.parametrize("text, table, expected", [
    ("C(ip -json) and V(merged)", False, "`ip -json` and `merged`"),
    ("O(config[].mtu=9000) or RV(findings)", False, "`config[].mtu=9000` or `findings`"),
    ("I(never) B(ever)", False, "*never* **ever**"),
    ("L(the kernel,https://www.kernel.org/doc/)", False, "[the kernel](https://www.kernel.org/doc/)"),
    ("U(https://example.invalid/x)", False, "<https://example.invalid/x>"),
    ("a|b <c> *d* _e_ snake_case", True, "a\\|b &lt;c&gt; \\*d\\* \\_e\\_ snake_case"),
    ("C(a|b)", True, "`a\\|b`"),
    ("C(a|b)", False, "`a|b`"),
    ("C(`x`)", False, "`` `x` ``"),
    ("M(hostnet.netif.addresses) and M(other.coll.thing)", False,
     "[hostnet.netif.addresses](addresses.md) and `other.coll.thing`"),
])
def test_markup(text, table, expected):
    markup = gen.Markup("hostnet.netif", {"hostnet.netif.addresses": "addresses.md"})
    assert markup(text, table=table) == expected


def test_check_names_stale_missing_and_left_over_pages(tmp_path):
    pages = {"README.md": "index\n", "a.md": "A\n", "b.md": "B\n"}
    gen.write(pages, str(tmp_path))
    assert gen.differences(pages, str(tmp_path)) == []
    (tmp_path / "a.md").write_text("edited by hand\n")
    (tmp_path / "b.md").unlink()
    (tmp_path / "gone.md").write_text("a page of a removed module\n")
    assert gen.differences(pages, str(tmp_path)) == [
        "missing: b.md", "not generated (left over): gone.md", "stale: a.md"]
    gen.write(pages, str(tmp_path))
    assert gen.differences(pages, str(tmp_path)) == []
    assert not (tmp_path / "gone.md").exists()
