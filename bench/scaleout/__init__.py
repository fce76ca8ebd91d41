"""The parts of the ``scaleout`` scenario (``bench/scenarios/scaleout.py``): the deployment it measures
(``cluster``) and its three workloads (``ops``: session ops and the agent mix, ``blobs``: uploads and
downloads through the object store, ``langgraph``: our saver against PostgresSaver)."""
