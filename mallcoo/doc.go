// Package mallcoo is crmsync's side of the Mallcoo (猫酷) OpenAPI: the eight
// CRM endpoints, their fields and rules, the wire types, request signing,
// and a Client that delivers event bodies.
//
// # The contract
//
// Every call is an HTTPS POST of a JSON body to BaseURL + path (the
// documented trailing slash kept), default base https://openapi10.mallcoo.cn,
// with the headers
//
//	Content-Type: application/json; charset=utf-8
//	AppID:        the mall's application ID          (MALLCOO_APP_ID)
//	PublicKey:    the mall's public key              (MALLCOO_PUBLIC_KEY)
//	TimeStamp:    yyyyMMddHHmmss, China Standard Time (TimeStamp)
//	Sign:         Sign(PublicKey, TimeStamp, body, PrivateKey)
//
// Sign is the MD5 of the text
// "{publicKey:<PublicKey>,timeStamp:<TimeStamp>,data:<body>,privateKey:<PrivateKey>}",
// hex characters 8 to 23, upper-case. The body is marshalled once (Marshal)
// and those exact bytes are stored, signed and sent; a retry gets a fresh
// TimeStamp and Sign over the same bytes.
//
// Mallcoo answers {"Code":1,"Message":"成功"} (Message may be null, an
// Extension may follow). Any other Code is a business rejection, kept
// verbatim. Mallcoo publishes no error codes, rate limit, clock-skew window
// or retry guidance: those are settings of Config, never guesses.
//
// # Endpoints and fields
//
// SpecOf(kind) describes an endpoint: path, the vendor's title and its
// fields (name, Chinese label, type, rule, enum, how it is sent empty).
// The importer maps headers and validates with it, templates are generated
// from it, and CheckBody checks a marshalled body against it (the fake
// server uses Check too). SpecFor adds the fields a mall requires;
// CheckScore and ValidMobile state the score and mobile rules once, for
// the importer and the fake. WireBody puts a marshalled body in the form
// the vendor's examples show (empty optional fields left out, null or "",
// per Field.Empty); Canonical gives the one form content hashes are taken
// of.
// The wire types (MemberNotice … InvalidInform) marshal IDs as strings,
// amounts as the decimal written (Amount), datetimes as
// "yyyy-MM-dd HH:mm:ss" in China Standard Time (LocalTime) and the Desc
// texts of over-limit, bonus, verify and invalid URL-encoded (URLText).
//
// # Sending
//
// Client.Send implements crmsync.Sender. Its answer falls in one of these
// classes:
//
//   - accepted: Code 1, nil error (or a Code listed in
//     Config.AlreadyDelivered, reported as Code 1 with the Message
//     "already delivered (Code n): <message>");
//   - rejected: any other Code, nil error, never retried;
//   - failed: transport errors, timeouts, HTTP 5xx and 429, and 2xx answers
//     that are not Mallcoo's JSON, retried with exponential backoff and full
//     jitter (honouring Retry-After) up to Config.Retries, then an error
//     wrapping *APIError, and crmsync.ErrMaybeDelivered when an attempt may
//     have reached Mallcoo; other 4xx fail at once;
//   - systemic: HTTP 401/403, a Code in Config.SystemicCodes, most of the
//     last Config.FailWindow events failing, or a streak of rejections with
//     one Code (the first Config.OpenStreak answers, or Config.RejectStreak
//     in a row: Mallcoo may refuse credentials with HTTP 200 and a Code):
//     an error wrapping crmsync.ErrSystemic (and a *StreakError for a
//     streak), and the client refuses every later Send without a request.
//
// A Client is shared by all workers of a run: Config.Rate limits them
// together (retries included) and Config.Concurrency sizes the connection
// pool. Neither errors nor logs ever hold the private key or a Sign.
//
// The fake server in mallcootest implements the same contract for tests
// and for `crmsync mock`.
package mallcoo
