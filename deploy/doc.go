// Package deploy describes what to deploy — apps, roles, servers,
// releases — and deploys it: observe every host, make a plan (a pure
// value you can print and test), then apply it.
//
// The subpackages are how Slipway talks to the real world: ssh is the
// transport to a host, and engine is the Docker Engine API reached
// through that transport. Deploy values, plans and the executor arrive
// with the deploy issue; until then this package holds only this map.
package deploy
