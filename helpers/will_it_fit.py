"""``python -m helpers.will_it_fit MODEL --gpu T4 --peft ia3_bias --checkpointing``.

Only a command: :mod:`helpers._will_it_fit_cli` holds its logic (``main``). Imported, a
module of this name would replace the function :func:`helpers.will_it_fit` on the
package (Python sets a package's attribute to each submodule it imports), so importing
it is refused; ``python -m`` runs it without importing it under this name.
"""

if __name__ != "__main__":
    raise ImportError(
        "helpers.will_it_fit is a command (python -m helpers.will_it_fit); its logic is "
        "in helpers._will_it_fit_cli, and the function is helpers.will_it_fit"
    )

from helpers._will_it_fit_cli import main

raise SystemExit(main())
