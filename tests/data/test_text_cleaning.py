from balora.data.text_cleaning import clean_tweet


def test_clean_tweet_decodes_entities_drops_tags_masks_urls_and_users():
    raw = "@bob  I &amp; you <b>love</b>   this https://t.co/xyz\n #fun @al_2"
    assert clean_tweet(raw) == "[USER] I & you love this [URL] #fun [USER]"


def test_clean_tweet_leaves_plain_text_alone():
    assert clean_tweet("plain text.") == "plain text."
