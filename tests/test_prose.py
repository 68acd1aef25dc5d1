from reclearn.prose import listing


def test_listing_joins_names_as_a_sentence_does():
    assert listing([]) == ""
    assert listing(["EASE"]) == "EASE"
    assert listing(("EASE", "ALS")) == "EASE and ALS"
    assert listing(["a", "b", 3]) == "a, b and 3"
