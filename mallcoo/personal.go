package mallcoo

// Personal says which kind of a member's personal information (个人信息) a
// request field holds, so reports that travel by email and chat can mask
// it. Only the fields that identify a member are listed: card IDs and
// mobile numbers.
type Personal int

// Kinds of personal data.
const (
	NotPersonal  Personal = iota
	CardID                // a member's card ID: ThirdPartyCardID
	MobileNumber          // a member's mobile number: Mobile
)

// PersonalField returns the kind of personal data a field of any endpoint
// holds (NotPersonal for all but the member's card ID and mobile).
func PersonalField(name string) Personal {
	switch name {
	case "ThirdPartyCardID":
		return CardID
	case "Mobile":
		return MobileNumber
	}
	return NotPersonal
}
