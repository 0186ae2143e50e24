"""The README's examples: each Python block compiles, and every name it
takes from the package exists."""

from __future__ import annotations

import re
import unittest
from pathlib import Path

import support  # noqa: F401 - puts the package on sys.path

import keyward

README = Path(__file__).resolve().parents[1] / "README.md"


class ReadmeTest(unittest.TestCase):
    def blocks(self) -> list[str]:
        return re.findall(r"```python\n(.*?)```", README.read_text(), re.S)

    def test_examples_compile(self) -> None:
        blocks = self.blocks()
        self.assertGreater(len(blocks), 5)
        for i, code in enumerate(blocks):
            with self.subTest(block=i):
                compile(code, f"README.md block {i}", "exec")

    def test_names_exist(self) -> None:
        text = README.read_text()
        names = set(re.findall(r"\bkeyward\.([A-Za-z_]+)(?:\.([A-Z_]+))?", text))
        self.assertTrue(names)
        for name, member in names:
            with self.subTest(name=name):
                self.assertTrue(hasattr(keyward, name), f"keyward.{name}")
                if member:
                    self.assertTrue(hasattr(getattr(keyward, name), member), f"keyward.{name}.{member}")
        client = keyward.Client("http://127.0.0.1:9", api_key="", org_api_key="")
        for chain in re.findall(r"\b(?:client|org|cache)\.([a-z_]+(?:\.[a-z_]+)*)\(", text):
            with self.subTest(call=chain):
                self.assertTrue(any(_has(obj, chain) for obj in (client, client.org, keyward.LocalCache(client))), chain)


def _has(obj: object, chain: str) -> bool:
    for part in chain.split("."):
        if not hasattr(obj, part):
            return False
        obj = getattr(obj, part)
    return True


if __name__ == "__main__":
    unittest.main()
