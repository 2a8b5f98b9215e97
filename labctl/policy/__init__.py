"""Route-server policy: built-in data (bogons, reserved ASNs, reasons, communities), the per-IX
policy derived from the model, and the capability table of both route-server daemons.

Pure: no Docker, no network. `plan` and `render` use it; so does the policy scenario.
"""
