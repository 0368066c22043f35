package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// ErrInvalidRouteName is wrapped by [ParseRouteName] when a name does not
// parse as <service>/<route...>/v<N>. The wire code for it is
// routing.invalidServiceRouteName.
var ErrInvalidRouteName = errors.New("api: invalid route name")

// ErrDuplicateRoute is wrapped by [Register] when a route key is already
// registered on the module. Keys are unique because a silent replacement
// would make which handler answers depend on registration order.
var ErrDuplicateRoute = errors.New("api: route already registered")

// ParseRouteName normalises a transport route name and splits it, with the
// rules the LuckyStack client and server share (luckystack-wire.md §3.1):
// surrounding spaces are trimmed, backslashes become slashes, leading and
// trailing slashes are stripped, and empty segments are refused. A leading
// prefix segment ("api" or "sync") is dropped when present; what remains
// needs at least three segments, the last matching v<digits>.
//
// key is the canonical registry key prefix/service/route.../vN (the version
// segment as written, so "v01" and "v1" are different keys: versions never
// fall back to one another). An empty prefix gives service/route.../vN.
// Errors wrap [ErrInvalidRouteName].
//
// The sync package uses it with prefix "sync".
func ParseRouteName(prefix, name string) (key, service, route string, version int, err error) {
	segs, err := splitRouteName(prefix, name)
	if err != nil {
		return "", "", "", 0, err
	}
	if len(segs) < 3 {
		return "", "", "", 0, fmt.Errorf("%w: %q needs service/route/vN", ErrInvalidRouteName, name)
	}
	return joinRoute(prefix, name, segs)
}

// parseRegistrationName is ParseRouteName with the file convention of the
// original for code: a route at the root (name/vN) belongs to service
// "system". The wire parser stays strict because the client never sends
// two-segment names.
func parseRegistrationName(prefix, name string) (key, service, route string, version int, err error) {
	segs, err := splitRouteName(prefix, name)
	if err != nil {
		return "", "", "", 0, err
	}
	if len(segs) == 2 {
		segs = append([]string{"system"}, segs...)
	}
	if len(segs) < 3 {
		return "", "", "", 0, fmt.Errorf("%w: %q needs [service/]route/vN", ErrInvalidRouteName, name)
	}
	return joinRoute(prefix, name, segs)
}

func splitRouteName(prefix, name string) ([]string, error) {
	n := strings.ReplaceAll(strings.TrimSpace(name), `\`, "/")
	n = strings.Trim(n, "/")
	if n == "" {
		return nil, fmt.Errorf("%w: empty name", ErrInvalidRouteName)
	}
	segs := strings.Split(n, "/")
	for _, s := range segs {
		if s == "" {
			return nil, fmt.Errorf("%w: %q has an empty segment", ErrInvalidRouteName, name)
		}
	}
	if prefix != "" && segs[0] == prefix {
		segs = segs[1:]
	}
	return segs, nil
}

func joinRoute(prefix, name string, segs []string) (key, service, route string, version int, err error) {
	ver := segs[len(segs)-1]
	version, ok := parseVersion(ver)
	if !ok {
		return "", "", "", 0, fmt.Errorf("%w: %q does not end in v<N>", ErrInvalidRouteName, name)
	}
	service = segs[0]
	route = strings.Join(segs[1:len(segs)-1], "/")
	key = service + "/" + route + "/" + ver
	if prefix != "" {
		key = prefix + "/" + key
	}
	return key, service, route, version, nil
}

// parseVersion accepts ^v\d+$ whose number fits an int.
func parseVersion(s string) (int, bool) {
	if len(s) < 2 || s[0] != 'v' {
		return 0, false
	}
	for _, c := range []byte(s[1:]) {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(s[1:])
	return n, err == nil
}

// InferMethod returns the HTTP method a route answers when it declares
// none, from the leaf (last segment) of route: get*, fetch* and list* are
// GET; delete* and remove* are DELETE; update*, edit* and patch* are PUT;
// everything else is POST. The prefix match ignores case. The socket
// transport ignores methods entirely.
func InferMethod(route string) string {
	leaf := route
	if i := strings.LastIndexByte(route, '/'); i >= 0 {
		leaf = route[i+1:]
	}
	leaf = strings.ToLower(leaf)
	has := func(prefixes ...string) bool {
		for _, p := range prefixes {
			if strings.HasPrefix(leaf, p) {
				return true
			}
		}
		return false
	}
	switch {
	case has("get", "fetch", "list"):
		return http.MethodGet
	case has("delete", "remove"):
		return http.MethodDelete
	case has("update", "edit", "patch"):
		return http.MethodPut
	}
	return http.MethodPost
}
