"""The strings of ratings (the visitor's form, the agent's view) and reports (SPEC §10), in every language of
app/i18n.py, which merges them into its one table; kept apart so that table stays readable."""

REPORT_STRINGS: dict[str, dict[str, str]] = {
    "rating.question": {"en": "How did we do?", "tr": "Nasıldı?"},
    "rating.scale": {"en": "1 is poor, 5 is excellent.", "tr": "1 kötü, 5 mükemmel."},
    "rating.comment": {"en": "Anything to add? (optional)", "tr": "Eklemek istediğiniz bir şey var mı? (isteğe bağlı)"},
    "rating.send": {"en": "Send rating", "tr": "Puanı gönder"},
    "rating.thanks": {
        "en": "Thank you for rating this conversation ({score} of 5).",
        "tr": "Bu sohbeti puanladığınız için teşekkürler (5 üzerinden {score}).",
    },
    "rating.agent_title": {"en": "Ratings", "tr": "Puanlar"},
    "rating.agent_item": {
        "en": "Resolution {number}: {score} of 5",
        "tr": "{number}. çözüm: 5 üzerinden {score}",
    },
    "error.rating.score": {"en": "Choose a score from 1 to 5.", "tr": "1 ile 5 arasında bir puan seçin."},
    "error.rating.comment_too_long": {
        "en": "The comment is too long (1000 characters at most).",
        "tr": "Yorum çok uzun (en fazla 1000 karakter).",
    },
    "error.rating.not_yours": {
        "en": "That is not your conversation.",
        "tr": "Bu sizin sohbetiniz değil.",
    },
    "error.rating.not_resolved": {
        "en": "This conversation is not resolved, so it cannot be rated yet.",
        "tr": "Bu sohbet çözülmedi, bu yüzden henüz puanlanamaz.",
    },
    "error.rating.already": {
        "en": "You have already rated this conversation.",
        "tr": "Bu sohbeti zaten puanladınız.",
    },
    "reports.title": {"en": "Reports", "tr": "Raporlar"},
    "reports.from": {"en": "From", "tr": "Başlangıç"},
    "reports.to": {"en": "To", "tr": "Bitiş"},
    "reports.show": {"en": "Show", "tr": "Göster"},
    "reports.csv": {"en": "Download CSV", "tr": "CSV indir"},
    "reports.range": {
        "en": "{start} to {end} (UTC), both days included.",
        "tr": "{start} – {end} (UTC), iki gün de dahil.",
    },
    "reports.summary": {"en": "Summary", "tr": "Özet"},
    "reports.per_day": {"en": "Per day", "tr": "Günlük"},
    "reports.per_agent": {"en": "Per agent", "tr": "Temsilci başına"},
    "reports.ratings": {"en": "Ratings", "tr": "Puanlar"},
    "reports.chart_conversations": {
        "en": "New conversations per day",
        "tr": "Günlük yeni sohbetler",
    },
    "reports.chart_frt": {
        "en": "Median first-response time per day (minutes)",
        "tr": "Günlük ortanca ilk yanıt süresi (dakika)",
    },
    "reports.chart_ratings": {"en": "Ratings by score", "tr": "Puana göre değerlendirmeler"},
    "reports.day": {"en": "Day", "tr": "Gün"},
    "reports.agent": {"en": "Agent", "tr": "Temsilci"},
    "reports.conversations": {"en": "Conversations", "tr": "Sohbetler"},
    "reports.answered": {"en": "Conversations answered", "tr": "Yanıtlanan sohbetler"},
    "reports.first_responses": {"en": "First responses", "tr": "İlk yanıtlar"},
    "reports.frt_median": {"en": "First response, median", "tr": "İlk yanıt, ortanca"},
    "reports.frt_p90": {"en": "First response, p90", "tr": "İlk yanıt, p90"},
    "reports.resolution_median": {"en": "Resolution, median", "tr": "Çözüm, ortanca"},
    "reports.resolution_p90": {"en": "Resolution, p90", "tr": "Çözüm, p90"},
    "reports.resolutions": {"en": "Resolutions", "tr": "Çözümler"},
    "reports.rating_count": {"en": "Ratings", "tr": "Puan sayısı"},
    "reports.rating_average": {"en": "Average rating", "tr": "Ortalama puan"},
    "reports.score": {"en": "Score", "tr": "Puan"},
    "reports.count": {"en": "Count", "tr": "Sayı"},
    "reports.none": {"en": "None in this range.", "tr": "Bu aralıkta yok."},
    "reports.times_note": {
        "en": "First response: from a conversation's first visitor message to the first agent reply (notes do not "
        "count). Resolution: from the start of the conversation to its first resolution. Conversations are counted "
        "on the day they started; ratings and resolutions on the day they happened.",
        "tr": "İlk yanıt: sohbetin ilk ziyaretçi mesajından ilk temsilci yanıtına kadar (notlar sayılmaz). Çözüm: "
        "sohbetin başlangıcından ilk çözümüne kadar. Sohbetler başladıkları günde; puanlar ve çözümler "
        "gerçekleştikleri günde sayılır.",
    },
    "error.reports.date": {
        "en": "Dates are written as YYYY-MM-DD (for example 2026-12-01).",
        "tr": "Tarihler YYYY-AA-GG biçiminde yazılır (örneğin 2026-12-01).",
    },
    "error.reports.order": {
        "en": "The start date must not be after the end date.",
        "tr": "Başlangıç tarihi bitiş tarihinden sonra olamaz.",
    },
    "error.reports.too_long": {
        "en": "A report covers at most 366 days; choose a shorter range.",
        "tr": "Bir rapor en fazla 366 günü kapsar; daha kısa bir aralık seçin.",
    },
    "error.reports.format": {
        "en": "The format is either html (the page) or csv (a download).",
        "tr": "Biçim ya html (sayfa) ya da csv (indirme) olur.",
    },
}
