"""The developer tools around the pipeline: ``make compare`` (:mod:`.compare`), ``make audit`` (:mod:`.audit`),
``make tune`` (:mod:`.tune`) and the offline page of ``dvc plots`` (:mod:`.plots_page`).

No stage imports them: editing one reruns nothing.
"""
