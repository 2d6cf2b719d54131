"""The strings of the transcript by email (SPEC §9: the ended page's button, its page, its refusals and the mail),
in every language of app/i18n.py, which merges them into its one table (that module is near its size limit)."""

MAIL_STRINGS: dict[str, dict[str, str]] = {
    "mail.transcript.subject": {"en": "Your conversation with {site}", "tr": "{site} ile sohbetiniz"},
    "mail.transcript.rate": {
        "en": "How did we do? Rate this conversation from 1 to 5 on the chat page, in the browser you chatted from:",
        "tr": "Nasıldık? Bu sohbeti, yazıştığınız tarayıcıda sohbet sayfasında 1'den 5'e puanlayın:",
    },
    "mail.transcript.rate_link": {"en": "Rate the conversation", "tr": "Sohbeti puanla"},
    "transcript.email_title": {"en": "Transcript by email", "tr": "E-postayla döküm"},
    "transcript.email": {"en": "Email me the transcript", "tr": "Dökümü bana e-postayla gönder"},
    "transcript.email_to": {"en": "It goes to {email}.", "tr": "{email} adresine gönderilir."},
    "transcript.email_sent": {
        "en": "Done: the transcript is on its way to your email address.",
        "tr": "Tamam: döküm e-posta adresinize gönderiliyor.",
    },
    "transcript.email_add": {"en": "Add an email address", "tr": "E-posta adresi ekle"},
    "error.transcript_mail_off": {
        "en": "Email is not set up on this site, so the transcript cannot be mailed. You can download it instead.",
        "tr": "Bu sitede e-posta gönderimi kurulu değil, bu yüzden döküm gönderilemiyor. "
        "Bunun yerine indirebilirsiniz.",
    },
    "error.transcript_no_email": {
        "en": "This conversation has no email address yet. Add one first, then send the transcript again.",
        "tr": "Bu sohbette henüz e-posta adresi yok. Önce bir adres ekleyin, sonra dökümü yeniden gönderin.",
    },
    "error.transcript_mail_wait": {
        "en": "The transcript was sent a moment ago. Please wait a minute before sending it again.",
        "tr": "Döküm az önce gönderildi. Yeniden göndermeden önce lütfen bir dakika bekleyin.",
    },
}
