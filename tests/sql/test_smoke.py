def test_award_is_new_once(db, user):
    assert db.award_badge(user, "social_sharer", client=True)["awarded"] is True
    assert db.award_badge(user, "social_sharer", client=True)["awarded"] is False
