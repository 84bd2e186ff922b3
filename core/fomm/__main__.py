"""``python -m core.fomm animate ...``: the animation pipeline's command line (``python -m core.animate``)
under the name the guides use.

It runs that command as ``python -m`` itself would, so the model package never imports the pipeline (the
pipeline imports the model; an import back would be a package cycle).
"""

import runpy

if __name__ == "__main__":
    runpy.run_module("core.animate", run_name="__main__", alter_sys=True,
                     init_globals={"INVOKED_AS": "python -m core.fomm"})
