"""The custom import-linter contract: pages import only core's public names."""

from tests.import_contracts import private_imports


def test_private_names_and_modules_are_found_public_ones_pass():
    source = (
        "import core.stylegan2\n"
        "import core.jobs._internal as j\n"
        "from core.stylegan2 import sample, _helper\n"
        "from core.show._render import x\n"
        "from other._private import y\n"
        "from core import __version__\n"
        "from . import _sibling\n"
    )
    assert private_imports(source, "core") == [
        (2, "core.jobs._internal"), (3, "core.stylegan2._helper"), (4, "core.show._render")]
