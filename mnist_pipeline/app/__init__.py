"""The picture-reading app: ``mnist-predict`` and its drawing page.

It reads people's own pictures of digits (:mod:`.imaging`), classifies them with the models the pipeline
trained (:mod:`.predict`, the console script) and serves the page to draw on (:mod:`.serve`, its HTML in
``page.html``). No stage imports it: editing it reruns nothing.
"""
