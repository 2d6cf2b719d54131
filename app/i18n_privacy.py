"""The strings of a visitor's data and its erasure (SPEC §11): the visitor's privacy page, the start page's notice,
the owner's erasure by email, in every language of app/i18n.py (which merges them)."""

PRIVACY_STRINGS: dict[str, dict[str, str]] = {
    "privacy.link": {"en": "Your data", "tr": "Verileriniz"},
    "privacy.title": {"en": "Your data", "tr": "Verileriniz"},
    "privacy.kept": {
        "en": "We keep what you write here (your messages and files, and when you sent them), the name and email "
        "address you give us, the page you started from and the address you wrote from (to protect the chat from "
        "abuse). Only the support team sees them; messages and addresses are stored encrypted.",
        "tr": "Burada yazdıklarınızı (mesajlarınızı, dosyalarınızı ve gönderme zamanlarını), bize verdiğiniz adı ve "
        "e-posta adresini, başladığınız sayfayı ve yazdığınız adresi (sohbeti kötüye kullanıma karşı korumak için) "
        "saklarız. Bunları yalnızca destek ekibi görür; mesajlar ve adresler şifreli saklanır.",
    },
    "privacy.kept_until": {
        "en": "Nothing is deleted by itself unless support set a limit; you can delete it all here at any time.",
        "tr": "Destek bir süre belirlemediyse hiçbir şey kendiliğinden silinmez; hepsini buradan her an "
        "silebilirsiniz.",
    },
    "privacy.none": {
        "en": "There is no conversation in this browser.",
        "tr": "Bu tarayıcıda bir konuşma yok.",
    },
    "privacy.export": {"en": "Download my data", "tr": "Verilerimi indir"},
    "privacy.export_hint": {
        "en": "A zip file with your conversation and your files.",
        "tr": "Konuşmanızı ve dosyalarınızı içeren bir zip dosyası.",
    },
    "privacy.delete": {"en": "Delete my conversation", "tr": "Konuşmamı sil"},
    "privacy.delete_confirm": {
        "en": "Yes, delete everything: messages, files and my details. This cannot be undone.",
        "tr": "Evet, her şeyi sil: mesajlar, dosyalar ve bilgilerim. Bu geri alınamaz.",
    },
    "privacy.delete_ask": {
        "en": "Tick the box to confirm: the conversation cannot be brought back.",
        "tr": "Onaylamak için kutuyu işaretleyin: konuşma geri getirilemez.",
    },
    "privacy.deleted": {
        "en": "Your conversation and everything in it were deleted.",
        "tr": "Konuşmanız ve içindeki her şey silindi.",
    },
    "privacy.new_chat": {"en": "Start a new chat", "tr": "Yeni sohbet başlat"},
    "privacy.back": {"en": "Back to the chat", "tr": "Sohbete dön"},
    # The owner's erasure by email (/admin/privacy)
    "privacy.admin_title": {"en": "Privacy requests", "tr": "Gizlilik talepleri"},
    "privacy.admin_intro": {
        "en": "Find a visitor's conversations by the email address they gave, and erase them for good: messages, "
        "files, search entries, mail waiting to go out. Each erasure is in the audit log.",
        "tr": "Bir ziyaretçinin konuşmalarını verdiği e-posta adresiyle bulun ve kalıcı olarak silin: mesajlar, "
        "dosyalar, arama kayıtları, gönderilmeyi bekleyen e-postalar. Her silme denetim kaydına yazılır.",
    },
    "privacy.admin_email": {"en": "Visitor's email address", "tr": "Ziyaretçinin e-posta adresi"},
    "privacy.admin_find": {"en": "Find", "tr": "Bul"},
    "privacy.admin_found": {
        "en": "{count} conversation(s) with this address:",
        "tr": "Bu adresle {count} konuşma:",
    },
    "privacy.admin_none": {"en": "No conversation has this address.", "tr": "Bu adresle konuşma yok."},
    "privacy.admin_erase": {"en": "Erase them for good", "tr": "Kalıcı olarak sil"},
    "privacy.admin_erased": {
        "en": "Erased {count} conversation(s).",
        "tr": "{count} konuşma silindi.",
    },
    "privacy.admin_telegram": {
        "en": "Telegram copies deleted: {deleted}; kept (too old for Telegram to delete): {kept}.",
        "tr": "Silinen Telegram kopyaları: {deleted}; tutulanlar (Telegram'ın silemeyeceği kadar eski): {kept}.",
    },
    "audit.conversation.erased": {"en": "Conversation erased", "tr": "Konuşma kalıcı olarak silindi"},
}
