#!/bin/sh
echo "coverage is not supported offline in pvkit" >&2
exit 1
