"""Prints a pytest JUnit XML report the way `dotnet test`'s console logger does, for ./test.sh's totals and tail:
"     Passed:  N", "Failed:", "Skipped:"; then each failure as "  Failed NAME", "  Error Message:", its first lines."""

import sys
import xml.etree.ElementTree as ElementTree


def main(path: str) -> int:
    try:
        root = ElementTree.parse(path).getroot()
    except (OSError, ElementTree.ParseError) as e:
        print(f"  Failed python: no pytest report ({e})\n  Error Message:\n   pytest did not finish\n     Failed:     1")
        return 1
    passed = failed = skipped = 0
    failures = []
    for case in root.iter("testcase"):
        name = f"python: {case.get('classname', '')}.{case.get('name', '')}"
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        if problem is not None:
            failed += 1
            failures.append((name, (problem.get("message") or problem.text or "").strip().splitlines()[:6]))
        elif case.find("skipped") is not None:
            skipped += 1
        else:
            passed += 1
    # Totals first: test.sh's tail shows the lines after each "Failed NAME" until the next test's line.
    print(f"Python tests (clients/python):\n     Passed: {passed:5d}\n     Failed: {failed:5d}\n    Skipped: {skipped:5d}")
    for name, message in failures:
        print(f"  Failed {name}\n  Error Message:")
        for line in message:
            print(f"   {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
