from labctl.render.artefacts import NODE_PATHS, render_lab, render_node, render_topology, topology_filename, write_lab
from labctl.render.clabernetes import render_clabernetes

__all__ = ["NODE_PATHS", "render_clabernetes", "render_lab", "render_node", "render_topology", "topology_filename",
           "write_lab"]
