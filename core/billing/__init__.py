"""Plans and their limits (:mod:`core.billing.plans`, imported by the ledger) and subscription
billing (:mod:`core.billing.charges`, which builds on the ledger: import it by its full name)."""

from core.billing.plans import ORDER, PLANS, Plan, PlanLimit, plan_of

__all__ = ["ORDER", "PLANS", "Plan", "PlanLimit", "plan_of"]
