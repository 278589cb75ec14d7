package deploy

// BeforeStep makes s call f as each step of its deploys begins: the seam
// through which lab tests interrupt a deploy at a chosen step.
func BeforeStep(s *Session, f func(Step)) { s.beforeStep = f }
