"""The one table printer: aligned text for a terminal, markdown for a pull request."""

from mnist_pipeline.tables import format_table


def test_text_columns_are_aligned_two_spaces_apart_with_no_trailing_blanks():
    table = format_table([["logreg", "0.95", "x"], ["nn", "0.9963", "longer"]], ["model", "accuracy", "note"])
    lines = table.splitlines()
    assert lines[1:] == ["logreg   0.95        x", "nn       0.9963      longer"]
    assert lines[0].split() == ["model", "accuracy", "note"]
    assert [line.index(word) for line, word in zip(lines, ["accuracy", "0.95", "0.9963"], strict=True)] == [9, 9, 9]
    assert not any(line.endswith(" ") for line in lines)


def test_cells_are_printed_as_given_never_reparsed_as_numbers():
    assert format_table([["007", "1e3", 0.10]]) == "007  1e3  0.1"


def test_markdown_has_a_header_a_rule_and_one_line_a_row():
    lines = format_table([["a", "1"], ["bb", "22"]], ["name", "n"], markdown=True).splitlines()
    assert len(lines) == 4 and set(lines[1]) <= set("|-")
    assert [[cell.strip() for cell in line.strip("|").split("|")] for line in (lines[0], *lines[2:])] == [
        ["name", "n"], ["a", "1"], ["bb", "22"]]
