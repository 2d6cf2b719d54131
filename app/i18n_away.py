"""The strings of business hours and away mode (SPEC §9): the owner's fieldset on /admin/settings, the visitor's
away state and the widget's "leave a message" form, in every language of app/i18n.py (which merges them)."""

AWAY_STRINGS: dict[str, dict[str, str]] = {
    "settings.hours_title": {"en": "Business hours and away mode", "tr": "Çalışma saatleri ve uzakta modu"},
    "settings.business_hours": {"en": "Business hours", "tr": "Çalışma saatleri"},
    "settings.business_hours_hint": {
        "en": "Days and local times, groups separated by ; — e.g. Mon-Fri 09:00-18:00; Sat 10:00-14:00. "
        "Empty: always open.",
        "tr": "Günler ve yerel saatler, gruplar ; ile ayrılır — örn. Mon-Fri 09:00-18:00; Sat 10:00-14:00 "
        "(gün adları İngilizce). Boş: her zaman açık.",
    },
    "settings.timezone": {"en": "Time zone", "tr": "Saat dilimi"},
    "settings.timezone_hint": {
        "en": "A time zone name such as Europe/Istanbul or America/New_York; summer time is followed.",
        "tr": "Europe/Istanbul ya da America/New_York gibi bir saat dilimi adı; yaz saati izlenir.",
    },
    "settings.away_message": {"en": "Away message", "tr": "Uzakta mesajı"},
    "settings.away_message_hint": {
        "en": "Shown while support is away, and posted once in a conversation that writes then. Empty: the "
        "default message.",
        "tr": "Destek uzaktayken gösterilir ve o sırada yazan görüşmeye bir kez gönderilir. Boş: varsayılan mesaj.",
    },
    "settings.expected_reply": {"en": "Expected reply time", "tr": "Beklenen yanıt süresi"},
    "settings.expected_reply_hint": {
        "en": "For example: within a few hours. Empty: not shown.",
        "tr": "Örneğin: birkaç saat içinde. Boş: gösterilmez.",
    },
    "settings.hide_when_away": {
        "en": "While away, the widget offers a leave-a-message form instead of the live chat",
        "tr": "Uzaktayken pencere canlı sohbet yerine bir mesaj bırakma formu sunar",
    },
    "settings.hours_now_open": {"en": "Open now (business hours).", "tr": "Şu an açık (çalışma saatleri)."},
    "settings.hours_now_closed": {
        "en": "Closed now (outside business hours).",
        "tr": "Şu an kapalı (çalışma saatleri dışında).",
    },
    "settings.hours_day_unknown": {
        "en": "Unknown day: {detail}. Use Mon, Tue, Wed, Thu, Fri, Sat, Sun (or the full English names).",
        "tr": "Bilinmeyen gün: {detail}. Mon, Tue, Wed, Thu, Fri, Sat, Sun (ya da İngilizce tam adlar) kullanın.",
    },
    "settings.hours_time_invalid": {
        "en": "Not a time range: {detail}. Write it as 09:00-18:00 (24-hour clock, 24:00 for midnight).",
        "tr": "Saat aralığı değil: {detail}. 09:00-18:00 biçiminde yazın (24 saat, gece yarısı için 24:00).",
    },
    "settings.hours_group_invalid": {
        "en": "Days without times: {detail}. Each group is days then times, e.g. Mon-Fri 09:00-18:00.",
        "tr": "Saatsiz günler: {detail}. Her grup önce günler sonra saatlerdir, örn. Mon-Fri 09:00-18:00.",
    },
    "settings.hours_too_long": {
        "en": "At most {detail} characters.",
        "tr": "En fazla {detail} karakter.",
    },
    "settings.hours_zone_unknown": {
        "en": "Unknown time zone: {detail}. Use a name such as Europe/Istanbul or UTC.",
        "tr": "Bilinmeyen saat dilimi: {detail}. Europe/Istanbul ya da UTC gibi bir ad kullanın.",
    },
    "settings.away_message_invalid": {
        "en": "At most {max} characters on one line, without control characters.",
        "tr": "Tek satırda, denetim karakteri olmadan en fazla {max} karakter.",
    },
    "settings.expected_reply_invalid": {
        "en": "At most {max} characters on one line, without control characters.",
        "tr": "Tek satırda, denetim karakteri olmadan en fazla {max} karakter.",
    },
    # The visitor's side (the default away message is the status line's own, support.offline in app/i18n.py)
    "away.expected": {"en": "Expected reply: {when}", "tr": "Beklenen yanıt: {when}"},
    "leave.title": {"en": "Leave a message", "tr": "Mesaj bırakın"},
    "leave.intro": {
        "en": "Nobody is here right now. Leave your message and email address, and we will reply by email.",
        "tr": "Şu an kimse burada değil. Mesajınızı ve e-posta adresinizi bırakın, size e-postayla yanıt verelim.",
    },
    "leave.email_label": {"en": "Your email", "tr": "E-posta adresiniz"},
    "leave.message_label": {"en": "Your message", "tr": "Mesajınız"},
    "leave.button": {"en": "Send message", "tr": "Mesajı gönder"},
    "leave.sent": {
        "en": "Thank you, your message was sent. We will reply to {email}.",
        "tr": "Teşekkürler, mesajınız gönderildi. {email} adresine yanıt vereceğiz.",
    },
}
