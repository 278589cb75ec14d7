package deploy

import "strings"

// balancerSteps are the balancer deploys a plan ends its batches with:
// on each balancer server of each balanced role whose route does not
// already target exactly the role's hosts, one gated kamal-proxy deploy
// of the new list, with the targets it had in Old. A route that is
// right needs nothing, so a deploy that neither adds nor removes a host
// leaves the balancer alone.
func balancerSteps(a App, state State) []Step {
	var steps []Step
	for _, role := range a.balancedRoles() {
		want := BalancerTargets(a, role)
		svc := ProxyService(a, role)
		for _, srv := range a.Roles[role].Proxy.Balancer.Servers {
			var have []string
			if ps := state.Hosts[srv.Host].Proxy; ps != nil && ps.Running {
				have = splitTargets(ps.Services[svc])
			}
			if len(have) > 0 && sameTargets(have, want) {
				continue
			}
			steps = append(steps, Step{Kind: StepBalancerDeploy, Host: srv.Host, Role: role, Container: svc,
				Proxy: balancerService(a, role, want), Old: have})
		}
	}
	return steps
}

// splitBalancer parts a plan's Finish into its balancer deploys and the rest.
func splitBalancer(finish []Step) (balance, rest []Step) {
	for _, st := range finish {
		if st.Kind == StepBalancerDeploy {
			balance = append(balance, st)
		} else {
			rest = append(rest, st)
		}
	}
	return balance, rest
}

// runningBalancers adds to s, a StateRunning, each balancer host's
// kamal-proxy with its route targeting every host of its role.
func runningBalancers(a App, s State) {
	for _, role := range a.balancedRoles() {
		for _, srv := range a.Roles[role].Proxy.Balancer.Servers {
			hs := s.Hosts[srv.Host]
			if hs.Proxy == nil {
				b, _ := proxyBoot(a, srv.Host)
				hs.Proxy = &ProxyState{Running: true, Image: a.Roles[role].Proxy.image(), Fingerprint: ProxyFingerprint(b), Services: map[string]string{}}
			}
			hs.Proxy.Services[ProxyService(a, role)] = strings.Join(BalancerTargets(a, role), ",")
			s.Hosts[srv.Host] = hs
		}
	}
}
