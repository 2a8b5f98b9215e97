from labctl.render.artefacts import NODE_PATHS, render_lab, render_node, render_topology, topology_filename, write_lab

__all__ = ["NODE_PATHS", "render_lab", "render_node", "render_topology", "topology_filename", "write_lab"]
