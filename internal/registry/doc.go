// Package registry holds the copy-on-write route tables of the feature
// modules: registrations are rare and serialised, lookups happen on every
// request and cost one atomic load.
package registry
