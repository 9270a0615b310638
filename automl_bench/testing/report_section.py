"""The contract every report section keeps: `ReportSectionContract`.

Subclass it in your plugin's tests and say which spec to check::

    class TestMySection(ReportSectionContract):
        def make_spec(self):
            return ReportSectionSpec("my-section", "what it shows", build_my_section)

pytest runs a small toy suite once per class (two strategies, three seeds, the toy backend) and
checks what `ReportSectionSpec.build` promises (docs/how-to/plugins.md)."""

from __future__ import annotations

import re

from automl_bench import ReportSection, ReportSectionSpec
from automl_bench.testing._runs import OnAToyRun


class ReportSectionContract(OnAToyRun):
    """What every section of a report must do. Define `make_spec`."""

    def make_spec(self) -> ReportSectionSpec:
        raise NotImplementedError

    def test_builds_a_titled_markdown_section_or_nothing(self, results, tmp_path):
        section = self.make_spec().build(results, tmp_path)
        assert section is None or (isinstance(section, ReportSection) and section.title.strip()
                                   and isinstance(section.markdown, str))

    def test_every_picture_it_links_is_written_beside_it(self, results, tmp_path):
        section = self.make_spec().build(results, tmp_path)
        linked = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", section.markdown) if section else []
        missing = [name for name in linked if not (tmp_path / name).is_file()]
        assert missing == [], f"linked but not written into the directory: {missing}"

    def test_the_same_results_give_the_same_text(self, results, tmp_path):
        spec = self.make_spec()
        (tmp_path / "a").mkdir()
        (tmp_path / "b").mkdir()
        first, second = spec.build(results, tmp_path / "a"), spec.build(results, tmp_path / "b")
        assert (first and first.markdown) == (second and second.markdown)
