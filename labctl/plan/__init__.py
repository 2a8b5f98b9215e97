from labctl.plan.build import Link, Node, Plan, Session, build_plan

__all__ = ["Link", "Node", "Plan", "Session", "build_plan"]
