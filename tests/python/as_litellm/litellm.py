"""`import litellm` gives the switchboard package: put this folder on
PYTHONPATH to run code written for litellm (the conformance harness's
litellm target, in .ci/run) on Switchboard unchanged."""

import sys

import switchboard

sys.modules[__name__] = switchboard
