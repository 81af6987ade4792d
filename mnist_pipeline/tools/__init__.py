"""The developer tools around the pipeline: ``make compare`` (:mod:`.compare`), ``make pr-report``
(:mod:`.pr_report`), ``make audit`` (:mod:`.audit`), ``make tune`` (:mod:`.tune`), ``make release``
(:mod:`.release`), ``make docs`` (:mod:`.examples`), ``make mutants``' verdict (:mod:`.mutants`) and the offline page
of ``dvc plots`` (:mod:`.plots_page`).

No stage imports them: editing one reruns nothing.
"""
